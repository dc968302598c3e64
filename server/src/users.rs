//! `strongroom user add`: how the first admin is made.

use app::{
    domain::{Grant, Password, Role, Scope, Timestamp, Username},
    ssr::{
        accounts::{self, AccountError},
        auth::Hasher,
        db,
        state::AuthSettings,
        store::Stamp,
    },
};
use std::{
    io::{BufRead, IsTerminal, Write},
    path::Path,
    process::Command,
};

/// Reads one line from standard input; on a terminal, without echo.
fn read_secret_line(prompt: &str) -> Result<String, String> {
    let terminal = std::io::stdin().is_terminal();
    if terminal {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let _ = Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if terminal {
        let _ = Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn add(name: &str, role: &str, namespace: Option<&str>, data_dir: &Path) -> Result<(), String> {
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    let role: Role = role.parse().map_err(|e: app::domain::account::RoleError| e.to_string())?;
    let scope = Scope::parse(namespace.unwrap_or("")).map_err(|e| format!("--namespace: {e}"))?;
    let first = read_secret_line("Password: ")?;
    if std::io::stdin().is_terminal() && read_secret_line("Password again: ")? != first {
        return Err("the passwords differ".into());
    }
    let password = Password::parse_new(first).map_err(|e| e.to_string())?;
    let settings = AuthSettings::default();
    let hasher =
        Hasher::new(settings.argon2_m_kib, settings.argon2_t, settings.argon2_p, 1, 1).map_err(|e| e.to_string())?;
    let hash = hasher.hash(password).await.map_err(|e| e.to_string())?;
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = data_dir.join("strongroom.db");
    let grant = Grant { role, scope };
    let shown = grant.clone();
    app::ssr::db::run_blocking(move || {
        let mut conn = db::open(&path).map_err(AccountError::from)?;
        accounts::create_user(&mut conn, &username, &hash, &[grant], Stamp { actor: "cli", at: Timestamp::now() })
    })
    .await
    .map_err(|e| match e {
        AccountError::UserExists => format!("user {name} already exists"),
        other => other.to_string(),
    })?;
    println!("added {} as {} on {}", name.to_ascii_lowercase(), shown.role, shown.scope);
    Ok(())
}
