//! The localnet against stock Solana clients, over real sockets on loopback.

mod localnet {
    mod bad_input;
    mod common;
    mod restart;
    mod rpc_methods;
    mod rpc_story;
}
