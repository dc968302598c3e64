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
/// the variable is set already (then it is the operator's choice). Done
/// first, before the env file is read: it is read once, by the image that
/// serves (it may be a pipe), and its settings never enter the environment.
fn return_memory_at_once() {
    use clap::CommandFactory;
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // Serving: no subcommand named, or `serve` (the first subcommand name decides).
    let command = Cli::command();
    let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let first = args.iter().skip(1).find_map(|a| a.to_str().filter(|a| names.contains(a)));
    if first.is_some_and(|name| name != "serve") {
        return;
    }
    let mut again = std::process::Command::new("/proc/self/exe");
    again.arg0(args.first().cloned().unwrap_or_default()).args(args.iter().skip(1));
    let failed = again.env("MIMALLOC_PURGE_DELAY", "0").exec();
    // Only on failure (no /proc): serve with mimalloc's defaults.
    eprintln!("strongroom: serving with mimalloc's default purge delay ({failed})");
}

fn main() -> ExitCode {
    return_memory_at_once();
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
