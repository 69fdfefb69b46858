//! Thin entry point: parse the command line, start logging, run; the only place errors become
//! exit codes.

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RUST_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = rosterbridge::cli::Cli::parse();
    match rosterbridge::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rosterbridge: {e:#}");
            std::process::exit(1);
        }
    }
}
