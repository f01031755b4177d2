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

/// The content type of a resource node's announcement: a POST its owner
/// signs on the core node, read by load balancers.
pub const ANNOUNCEMENT_TYPE: &str = "aether-serving";

/// What a resource node announces: where it serves, and which programs.
/// Its provisioner posts it (as the `aether-serving` POST's content) each
/// time the list changes; a load balancer believes it only when the POST's
/// sender owns the registry record `node`.
///
/// ```
/// use aether_sdk::vm::Announcement;
///
/// let text = r#"{"node": "N", "endpoint": "http://crn.test", "programs": ["ab"]}"#;
/// let a: Announcement = serde_json::from_str(text).unwrap();
/// assert_eq!(a.endpoint(), "http://crn.test");
/// assert!(a.provisioner.is_none() && a.identity.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Announcement {
    /// The node's registry record (base58).
    pub node: String,
    /// The node's own key (base58).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Its vm-host, which serves `/vm/<item hash>/…`.
    pub endpoint: String,
    /// Its provisioner's API, which takes `POST /serve/<item hash>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioner: Option<String>,
    /// The programs (item hashes) it serves now.
    #[serde(default)]
    pub programs: Vec<String>,
}

impl Announcement {
    /// The vm-host URL without a trailing slash.
    pub fn endpoint(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }
}

/// The answer to `POST /serve/<item hash>` on a provisioner: `200` with
/// [`ServeAnswer::Serving`], or an error status with [`ServeAnswer::Refused`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ServeAnswer {
    /// The node serves the program (now, or once its VM boots) at `endpoint`.
    Serving {
        /// The program's item hash.
        program: String,
        /// The vm-host that serves it.
        endpoint: String,
    },
    /// Why not (`409` refused by policy or price, `503` for now).
    Refused {
        /// What the node says.
        error: String,
    },
}
