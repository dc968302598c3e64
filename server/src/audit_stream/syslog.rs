//! RFC 5424 syslog: `<PRI>1 TIMESTAMP HOST strongroom PID MSGID - JSON`,
//! facility `authpriv` (10), severity `info` for what happened and `notice`
//! for what was refused; MSGID the action. Over UDP one message a datagram
//! (RFC 5426), over TCP and TLS octet-counted (`LEN SP MSG`, RFC 6587 and
//! RFC 5425), over a Unix socket one a datagram (as `/dev/log` takes them).

use app::domain::audit::{AuditEntry, OK};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpStream, UdpSocket, UnixDatagram},
};

const AUTHPRIV: u8 = 10;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where syslog goes.
#[derive(Clone)]
pub enum Target {
    Udp(String),
    Tcp(String),
    Tls { host: String, port: u16, config: Arc<rustls::ClientConfig> },
    Unix(PathBuf),
}

impl Target {
    /// `udp://HOST:PORT`, `tcp://HOST:PORT`, `tls://HOST:PORT` (the
    /// certificate checked against `ca`, else the system's roots) or `unix:PATH`.
    pub fn parse(spec: &str, ca: Option<&Path>) -> Result<Self, String> {
        let bad = |why: &str| format!("STRONGROOM_AUDIT_SYSLOG={spec:?}: {why}");
        let host_port = |rest: &str| -> Result<(String, u16), String> {
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("name HOST:PORT"))?;
            let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port is not a port"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(bad("name a host"));
            }
            Ok((host.to_owned(), port))
        };
        let joined = |(h, p): (String, u16)| if h.contains(':') { format!("[{h}]:{p}") } else { format!("{h}:{p}") };
        if let Some(rest) = spec.strip_prefix("udp://") {
            return Ok(Self::Udp(joined(host_port(rest)?)));
        }
        if let Some(rest) = spec.strip_prefix("tcp://") {
            return Ok(Self::Tcp(joined(host_port(rest)?)));
        }
        if let Some(rest) = spec.strip_prefix("tls://") {
            let (host, port) = host_port(rest)?;
            let config = app::ssr::db::pg::tls_client(ca).map_err(|e| bad(&e))?;
            return Ok(Self::Tls { host, port, config: Arc::new(config) });
        }
        if let Some(path) = spec.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("name the socket's path"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        Err(bad("use udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:PATH"))
    }
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Unix(UnixDatagram),
}

pub struct Syslog {
    target: Target,
    conn: Option<Conn>,
    host: String,
    pid: u32,
}

impl Syslog {
    pub fn new(target: Target) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host: String = host.trim().chars().filter(|c| c.is_ascii_graphic()).take(255).collect();
        Self { target, conn: None, host: if host.is_empty() { "-".into() } else { host }, pid: std::process::id() }
    }

    /// TCP and TLS: a connection that holds what was written until it is read.
    pub fn is_stream(&self) -> bool {
        matches!(self.target, Target::Tcp(_) | Target::Tls { .. })
    }

    pub fn reset(&mut self) {
        self.conn = None;
    }

    /// Whether the connection is still up: a receiver that closed it (or
    /// reset it) shows as end-of-file or an error on a read that would wait.
    pub fn alive(&mut self) -> bool {
        let tcp = match &self.conn {
            Some(Conn::Tcp(s)) => s,
            Some(Conn::Tls(s)) => s.get_ref().0,
            Some(Conn::Udp(_) | Conn::Unix(_)) => return true,
            None => return false,
        };
        // What the receiver sends (a TLS session ticket) is not ours to read:
        // it only shows the connection is up, until an end of file or a reset.
        let mut buf = [0u8; 512];
        loop {
            match tcp.try_read(&mut buf) {
                Ok(0) => return false,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::WouldBlock,
            }
        }
    }

    async fn connect(&self) -> Result<Conn, String> {
        let within = |what: &'static str| move |_| format!("{what}: timed out");
        Ok(match &self.target {
            Target::Udp(addr) => {
                let socket = UdpSocket::bind(if addr.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" })
                    .await
                    .map_err(|e| e.to_string())?;
                socket.connect(addr).await.map_err(|e| format!("{addr}: {e}"))?;
                Conn::Udp(socket)
            }
            Target::Tcp(addr) => {
                let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr)).await.map_err(within("connect"))?;
                Conn::Tcp(tcp.map_err(|e| format!("{addr}: {e}"))?)
            }
            Target::Tls { host, port, config } => {
                let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect((host.as_str(), *port)))
                    .await
                    .map_err(within("connect"))?
                    .map_err(|e| format!("{host}:{port}: {e}"))?;
                let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
                let tls = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp);
                let tls = tokio::time::timeout(TIMEOUT, tls).await.map_err(within("TLS handshake"))?;
                Conn::Tls(Box::new(tls.map_err(|e| format!("TLS to {host}:{port}: {e}"))?))
            }
            Target::Unix(path) => {
                let socket = UnixDatagram::unbound().map_err(|e| e.to_string())?;
                socket.connect(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Conn::Unix(socket)
            }
        })
    }

    pub async fn send(&mut self, batch: &[(AuditEntry, Vec<u8>)]) -> Result<(), String> {
        if self.conn.is_none() {
            self.conn = Some(self.connect().await?);
        }
        let messages = batch.iter().map(|(e, mac)| message(e, mac, &self.host, self.pid));
        let sent = match self.conn.as_mut() {
            Some(Conn::Udp(socket)) => {
                for m in messages {
                    socket.send(m.as_bytes()).await.map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Some(Conn::Unix(socket)) => {
                for m in messages {
                    socket.send(m.as_bytes()).await.map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Some(Conn::Tcp(stream)) => write_framed(stream, messages).await,
            Some(Conn::Tls(stream)) => write_framed(stream.as_mut(), messages).await,
            None => Err("not connected".into()),
        };
        if sent.is_err() {
            self.conn = None;
        }
        sent
    }
}

/// Octet counting: `LEN SP MSG` per message, one write for the batch.
async fn write_framed<W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    messages: impl Iterator<Item = String>,
) -> Result<(), String> {
    let mut frames = Vec::new();
    for m in messages {
        frames.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    let write = async {
        out.write_all(&frames).await?;
        out.flush().await
    };
    tokio::time::timeout(TIMEOUT, write).await.map_err(|_| "write: timed out".to_owned())?.map_err(|e| e.to_string())
}

/// One RFC 5424 message.
pub fn message(e: &AuditEntry, mac: &[u8], host: &str, pid: u32) -> String {
    let severity = if e.outcome == OK || e.outcome.starts_with("ok:") { 6 } else { 5 };
    let msgid: String = e.action.chars().filter(|c| c.is_ascii_graphic()).take(32).collect();
    let msgid = if msgid.is_empty() { "-".to_owned() } else { msgid };
    format!(
        "<{}>1 {} {host} strongroom {pid} {msgid} - {}",
        AUTHPRIV * 8 + severity,
        e.at.rfc3339(),
        super::entry_json(e, mac)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_rfc5424_with_the_entry_as_json() {
        let e = AuditEntry {
            id: 7,
            at: app::domain::Timestamp(1_700_000_000),
            actor: "alice".into(),
            action: "secret.rotate".into(),
            namespace: "company".into(),
            key: "DB_PASSWORD".into(),
            version: Some(3),
            client: "127.0.0.1".into(),
            outcome: "ok".into(),
        };
        let m = message(&e, &[0xab, 0xcd], "box", 42);
        assert!(m.starts_with("<86>1 2023-11-14T22:13:20Z box strongroom 42 secret.rotate - {"), "{m}");
        let json: serde_json::Value = serde_json::from_str(m.split_once(" - ").unwrap().1).unwrap();
        assert_eq!((json["id"].as_i64(), json["mac"].as_str()), (Some(7), Some("abcd")));
        let refused = AuditEntry { outcome: "denied".into(), ..e };
        assert!(message(&refused, &[], "box", 42).starts_with("<85>1 "));
    }

    #[test]
    fn targets_parse() {
        assert!(matches!(Target::parse("udp://127.0.0.1:514", None), Ok(Target::Udp(a)) if a == "127.0.0.1:514"));
        assert!(matches!(Target::parse("tcp://[::1]:6514", None), Ok(Target::Tcp(a)) if a == "[::1]:6514"));
        assert!(matches!(Target::parse("unix:/dev/log", None), Ok(Target::Unix(_))));
        for bad in ["syslog://x:1", "tcp://host", "tcp://host:0", "tcp://:514", "unix:"] {
            assert!(Target::parse(bad, None).is_err(), "{bad}");
        }
    }
}
