//! `ducat`: wires the command line, configuration and telemetry to the library.

use clap::Parser;
use ducat::cli::{self, Cli, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("DUCAT_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(cli::run(cli)).unwrap_or_else(|error| {
        eprintln!("error: {error}");
        1
    });
    std::process::exit(code);
}
