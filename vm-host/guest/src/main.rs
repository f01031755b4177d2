//! `aether-guest`: runs as `/init` in a micro-VM. See the library.

fn main() {
    aether_guest::run();
}
