//! `strongroom`: read the env file, parse the command line, set up logging, run.

use clap::Parser;
use std::process::ExitCode;
use strongroom::{cli::Cli, env_file, telemetry};

/// See `server/Cargo.toml` for why: measured by `make bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc reads its options from the environment as the process starts,
/// before `main`. A server gives freed memory back to the system at once
/// (`MIMALLOC_PURGE_DELAY=0`): under load its peak RSS is a quarter lower
/// (make bench: 67 → 50 MB) at the same throughput. So `serve` starts itself
/// again with that set — the same process (same pid), a new image — unless
/// the variable is set already (then it is the operator's choice).
/// `environ`: the environment the process was started with (the env file's
/// settings are read again by the new image, never put in its environment).
fn return_memory_at_once(environ: Vec<(std::ffi::OsString, std::ffi::OsString)>) {
    use std::os::unix::process::CommandExt;
    if environ.iter().any(|(k, _)| k == "MIMALLOC_PURGE_DELAY") {
        return;
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let mut again = std::process::Command::new("/proc/self/exe");
    again.arg0(arg0).args(args).env_clear().envs(environ).env("MIMALLOC_PURGE_DELAY", "0");
    let failed = again.exec();
    // Only on failure (no /proc): serve with mimalloc's defaults.
    eprintln!("strongroom: serving with mimalloc's default purge delay ({failed})");
}

fn main() -> ExitCode {
    let environ: Vec<_> = std::env::vars_os().collect();
    // Before the runtime's threads exist: loading the env file sets variables.
    let args = match env_file::load(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("strongroom: {err}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
    if matches!(cli.command, None | Some(strongroom::cli::Command::Serve(_))) {
        return_memory_at_once(environ);
    }
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
