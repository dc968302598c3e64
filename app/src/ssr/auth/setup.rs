//! The first run in a browser: while no account exists, `/login` says so and
//! shows the command that makes the first admin, and the server offers a
//! one-time setup link (`/setup/{token}`) that opens a "create the first
//! admin" page — valid for an hour, once, and only while no admin exists.
//!
//! The token is a bearer credential: the server keeps only its hash and
//! writes the link to a 0600 file in the data dir, whose *path* it prints.
//! It never goes to a log.

use crate::ssr::auth::{new_session_token, token_hash};
use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a setup link stays valid.
pub const VALID_FOR: Duration = Duration::from_secs(3600);

/// What `/login` tells a newcomer while no account exists.
#[derive(Clone, Debug, Default)]
pub struct FirstRun {
    /// The data dir, absolute: the command works from any directory.
    pub data_dir: PathBuf,
    /// The file holding the setup link, while one is valid.
    pub link_file: Option<PathBuf>,
    /// The server runs on a trial root key (kept next to the data).
    pub trial_key: bool,
    /// `STRONGROOM_PUBLIC_URL`'s origin, when set: what snippets name.
    pub public_origin: Option<String>,
}

struct Link {
    hash: Vec<u8>,
    until: Instant,
    file: PathBuf,
}

#[derive(Default)]
pub struct Setup {
    link: Mutex<Option<Link>>,
    info: Mutex<FirstRun>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot make a random token")]
    Random,
    #[error("cannot write the setup link {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

impl Setup {
    /// Notes where the data lives and whether the root key is a trial key.
    pub fn describe(&self, data_dir: &Path, trial_key: bool, public_origin: Option<String>) {
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        info.data_dir = data_dir;
        info.trial_key = trial_key;
        info.public_origin = public_origin;
    }

    pub fn first_run(&self) -> FirstRun {
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        info.link_file = link.as_ref().filter(|l| l.until > crate::ssr::clock::instant()).map(|l| l.file.clone());
        info
    }

    /// Makes a new link to `{base}/setup/{token}` and writes it to
    /// `{data_dir}/setup-link` (mode 0600, replacing an older one). Returns the file's path.
    pub fn begin(&self, data_dir: &Path, base: &str) -> Result<PathBuf, SetupError> {
        let (token, hash) = new_session_token().map_err(|_| SetupError::Random)?;
        let file = std::path::absolute(data_dir.join("setup-link")).unwrap_or_else(|_| data_dir.join("setup-link"));
        let _ = std::fs::remove_file(&file);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&file).map_err(|e| SetupError::Write(file.clone(), e))?;
        writeln!(out, "{}/setup/{}", base.trim_end_matches('/'), token.as_str())
            .map_err(|e| SetupError::Write(file.clone(), e))?;
        *self.link.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Link { hash, until: crate::ssr::clock::instant() + VALID_FOR, file: file.clone() });
        Ok(file)
    }

    /// Whether `token` is the valid link (without using it up).
    pub fn check(&self, token: &str) -> bool {
        let link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        link.as_ref().is_some_and(|l| l.until > crate::ssr::clock::instant() && same(&l.hash, &token_hash(token)))
    }

    /// Uses the link up if `token` is it: true once.
    pub fn take(&self, token: &str) -> bool {
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        let valid =
            link.as_ref().is_some_and(|l| l.until > crate::ssr::clock::instant() && same(&l.hash, &token_hash(token)));
        if valid {
            self.end_locked(&mut link);
        }
        valid
    }

    /// Ends the link (an account now exists), removing its file.
    pub fn end(&self) {
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        self.end_locked(&mut link);
    }

    fn end_locked(&self, link: &mut Option<Link>) {
        if let Some(l) = link.take() {
            let _ = std::fs::remove_file(&l.file);
        }
    }
}

/// Compares two hashes in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_link_works_once_and_lives_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let setup = Setup::default();
        let file = setup.begin(dir.path(), "http://127.0.0.1:3000/").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let token = text.trim().strip_prefix("http://127.0.0.1:3000/setup/").unwrap().to_owned();
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o777,
            0o600
        );
        assert!(!setup.check("wrong") && !setup.take("wrong"));
        assert!(setup.check(&token));
        assert_eq!(setup.first_run().link_file.as_deref(), Some(file.as_path()));
        assert!(setup.take(&token));
        assert!(!setup.take(&token), "a second use is refused");
        assert!(!file.exists(), "the file goes with the link");
        assert_eq!(setup.first_run().link_file, None);
    }
}
