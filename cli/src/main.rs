fn main() -> std::process::ExitCode {
    aether_cli::main()
}
