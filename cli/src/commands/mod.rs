pub mod localnet;
