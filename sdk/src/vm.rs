//! What a resource node's router adds to the answers of the programs it
//! serves at `/vm/<item hash>/…`.

/// Set on an answer that the node's router made itself, not the program:
/// its value is the error code of the JSON body (`unknown_program` when
/// the node does not serve it, `stopping`, `boot_failed`, `bad_path`…).
/// It tells a program's own `404` from a node that does not serve it.
///
/// ```
/// # fn answer() -> reqwest::Response { unimplemented!() }
/// # fn f() {
/// # let answer = answer();
/// let from_node = answer.headers().get(aether_sdk::vm::HOST_ERROR_HEADER);
/// if from_node.is_some_and(|code| code == "unknown_program") {
///     // Ask another node.
/// }
/// # }
/// ```
pub const HOST_ERROR_HEADER: &str = "x-aether-host-error";
