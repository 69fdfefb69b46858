//! Thin entry point: parse the command line, start logging, run; the only place errors become
//! exit codes.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = rosterbridge::cli::Cli::parse();
    // A server gives freed memory back promptly (it idles between bursts); a one-shot command
    // (import, sync, export) keeps it for reuse: it is about to allocate as much again.
    if cli.serves() {
        rosterbridge::native::prompt_memory_return();
    }
    let default_level = if cli.serves() {
        "warn,rosterbridge=info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colour only on a terminal: logs sent to a file or a collector stay plain text.
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format() {
        rosterbridge::cli::LogFormat::Json => fmt.json().init(),
        rosterbridge::cli::LogFormat::Text => fmt.init(),
    }
    match rosterbridge::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rosterbridge: {e:#}");
            std::process::exit(1);
        }
    }
}
