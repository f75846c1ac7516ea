//! The access log, in Icecast's format (Apache combined plus duration), and client addresses
//! behind trusted proxies.

use floe_proto::accesslog::{format, AccessRecord};
use std::net::IpAddr;
use std::path::Path;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// A handle for writing access-log lines; cheap to clone. Lines are written by a background
/// task so a slow disk never stalls a connection; when the queue is full lines are dropped.
#[derive(Debug, Clone, Default)]
pub struct AccessLog {
    tx: Option<mpsc::Sender<String>>,
}

const QUEUE: usize = 4096;

impl AccessLog {
    /// A log that writes nothing.
    pub fn disabled() -> AccessLog {
        AccessLog { tx: None }
    }

    /// Opens `path` for appending (`-` means standard output) and starts the writer task.
    pub async fn open(path: &Path) -> std::io::Result<AccessLog> {
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        let mut out: Box<dyn tokio::io::AsyncWrite + Send + Unpin> = if path == Path::new("-") {
            Box::new(tokio::io::stdout())
        } else {
            Box::new(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await?,
            )
        };
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if out.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                if rx.is_empty() {
                    let _ = out.flush().await;
                }
            }
        });
        Ok(AccessLog { tx: Some(tx) })
    }

    /// Writes one record.
    pub fn record(&self, record: &AccessRecord<'_>) {
        if let Some(tx) = &self.tx {
            let mut line = format(record);
            line.push('\n');
            let _ = tx.try_send(line);
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(list) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let xff = Some("203.0.113.7, 198.51.100.1, 10.0.0.2");
        assert_eq!(client_ip(proxy, xff, &trusted).to_string(), "198.51.100.1");
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(client_ip(stranger, xff, &trusted), stranger);
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
    }
}
