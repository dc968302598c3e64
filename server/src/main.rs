//! `strongroom`: read the env file, parse the command line, set up logging, run.

use clap::Parser;
use std::process::ExitCode;
use strongroom::{cli::Cli, env_file, telemetry};

/// See `server/Cargo.toml` for why: measured by `make bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before the runtime's threads exist: loading the env file sets variables.
    let args = match env_file::load(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("strongroom: {err}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
    telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("strongroom: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(strongroom::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("strongroom: {err}");
            ExitCode::FAILURE
        }
    }
}
