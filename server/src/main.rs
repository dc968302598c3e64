//! `strongroom`: parse the command line, set up logging, run.

use clap::Parser;
use std::process::ExitCode;
use strongroom::{cli::Cli, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    match strongroom::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("strongroom: {err}");
            ExitCode::FAILURE
        }
    }
}
