//! Settings from a file, for the CLI an operator runs on a packaged machine:
//! `--env-file PATH` (or `STRONGROOM_ENV_FILE`), else the package's
//! `/etc/strongroom/strongroom.env` when it exists and is readable — the file
//! the systemd unit reads, so `strongroom user add` finds the same data dir
//! and root key as the server. `KEY=VALUE` lines; `#` comments; quotes
//! around a value are removed. The process environment wins over the file.

use std::{ffi::OsString, path::PathBuf};

/// What the package installs.
pub const PACKAGED: &str = "/etc/strongroom/strongroom.env";

/// Loads the env file named in `args` (removing `--env-file PATH` from them)
/// or the default one, then returns the remaining arguments for clap.
/// Call before any thread starts: it sets environment variables.
pub fn load(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let (named, rest) = take_flag(args);
    let path = named.or_else(|| std::env::var_os("STRONGROOM_ENV_FILE").map(PathBuf::from));
    let (path, required) = match path {
        Some(p) => (p, true),
        // The workload commands talk to a server with a token: the server's own
        // settings (its root key file, its data dir) are not theirs to pass on.
        None if is_workload_command(&rest) => return Ok(rest),
        None => (PathBuf::from(PACKAGED), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e)
            if !required && matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) =>
        {
            return Ok(rest)
        }
        Err(e) => return Err(format!("cannot read the env file {}: {e}", path.display())),
    };
    for (key, value) in parse(&text).map_err(|line| format!("{}: line {line} is not KEY=VALUE", path.display()))? {
        if std::env::var_os(&key).is_none() {
            // Single-threaded here (see `main`): nothing reads the environment meanwhile.
            std::env::set_var(key, value);
        }
    }
    Ok(rest)
}

/// `get`, `export` or `run`: the first argument that is not an option.
fn is_workload_command(args: &[OsString]) -> bool {
    let first = args.iter().skip(1).find(|a| !a.to_string_lossy().starts_with('-'));
    first.is_some_and(|a| matches!(a.to_str(), Some("get" | "export" | "run")))
}

fn take_flag(args: Vec<OsString>) -> (Option<PathBuf>, Vec<OsString>) {
    let (mut named, mut rest, mut iter) = (None, Vec::with_capacity(args.len()), args.into_iter());
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("--env-file") => named = iter.next().map(PathBuf::from),
            Some(s) if s.starts_with("--env-file=") => named = Some(PathBuf::from(&s["--env-file=".len()..])),
            Some("--") => {
                rest.push(arg);
                rest.extend(iter.by_ref());
            }
            _ => rest.push(arg),
        }
    }
    (named, rest)
}

/// `KEY=VALUE` pairs, or the number of the first line that is neither that, blank nor a comment.
fn parse(text: &str) -> Result<Vec<(String, String)>, usize> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line.split_once('=').ok_or(i + 1)?;
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(i + 1);
        }
        let value = value.trim();
        let unquoted =
            ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q))).unwrap_or(value);
        out.push((key.to_owned(), unquoted.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_taken_out_and_lines_are_read() {
        let args =
            ["strongroom", "--env-file", "/x.env", "user", "add", "--", "--env-file"].map(OsString::from).to_vec();
        let (named, rest) = take_flag(args);
        assert_eq!(named, Some(PathBuf::from("/x.env")));
        assert_eq!(rest, ["strongroom", "user", "add", "--", "--env-file"].map(OsString::from).to_vec());
        let parsed = parse("# packaged\nSTRONGROOM_DATA_DIR=/var/lib/strongroom\nexport A=\"b c\"\n\n").unwrap();
        assert_eq!(parsed, [("STRONGROOM_DATA_DIR".into(), "/var/lib/strongroom".into()), ("A".into(), "b c".into())]);
        assert_eq!(parse("ok=1\nnot a line\n"), Err(2));
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(is_workload_command(&args(&["strongroom", "run", "ns", "--", "env"])));
        assert!(!is_workload_command(&args(&["strongroom", "user", "add", "run"])));
    }
}
