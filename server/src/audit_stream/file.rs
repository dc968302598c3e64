//! The JSON Lines file: one entry a line, appended, synced before the
//! stream's cursor moves; created 0600; reopened on SIGHUP (after logrotate
//! moved it away).

use app::domain::audit::AuditEntry;
use std::{
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

pub struct JsonFile {
    path: PathBuf,
    file: Arc<Mutex<Option<std::fs::File>>>,
    reopen: Arc<AtomicBool>,
}

impl JsonFile {
    pub fn new(path: PathBuf) -> Result<Self, String> {
        let reopen = Arc::new(AtomicBool::new(false));
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
        let flag = reopen.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                flag.store(true, Ordering::Relaxed);
            }
        });
        Ok(Self { path, file: Arc::default(), reopen })
    }

    pub async fn send(&mut self, batch: &[(AuditEntry, Vec<u8>)]) -> Result<(), String> {
        let mut text = String::new();
        for (e, mac) in batch {
            text.push_str(&super::entry_json(e, mac));
            text.push('\n');
        }
        let (path, file, reopen) = (self.path.clone(), self.file.clone(), self.reopen.swap(false, Ordering::Relaxed));
        let written = tokio::task::spawn_blocking(move || {
            let mut held = file.lock().unwrap_or_else(|p| p.into_inner());
            if reopen || held.is_none() {
                let opened = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path);
                *held = Some(opened.map_err(|e| format!("{}: {e}", path.display()))?);
            }
            let Some(f) = held.as_mut() else { return Err("no file".to_owned()) };
            let end = f.metadata().map(|m| m.len()).map_err(|e| format!("{}: {e}", path.display()))?;
            let done = f.write_all(text.as_bytes()).and_then(|()| f.sync_data());
            if let Err(e) = done {
                // No half line left for the next try to follow (a full disk mid-batch).
                let _ = f.set_len(end);
                // Opened again next time (the disk may come back, or the file be moved).
                *held = None;
                return Err(format!("{}: {e}", path.display()));
            }
            Ok(())
        });
        written.await.map_err(|e| e.to_string())?
    }
}
