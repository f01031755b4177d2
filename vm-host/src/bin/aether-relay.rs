//! `aether-relay HOST PORT`: see `aether_vm_host::relay`.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(host), Some(Ok(port))) = (args.first(), args.get(1).map(|p| p.parse::<u16>())) else {
        eprintln!("usage: aether-relay HOST PORT");
        return std::process::ExitCode::from(2);
    };
    match aether_vm_host::relay::relay_stdio(host, port) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aether-relay: {host}:{port}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
