//! A hostile HTTPS endpoint on loopback for the hostile-endpoint tests: it answers every request
//! with bytes the test chooses (status line, headers and body written raw, so that anything an
//! attacker could send can be sent), and records what it received. Beside it, a bare TCP
//! listener that only counts connections: the "other host" a redirect points at.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the hostile endpoint received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// What the endpoint sends back: chunks written one after another, each after its delay.
pub struct Reply {
    /// (delay before the chunk, the chunk's bytes).
    pub chunks: Vec<(Duration, Vec<u8>)>,
    /// Whether the connection stays open for the next request (the reply must say its length).
    pub keep_alive: bool,
    /// The last chunk is written this many more times (large bodies without holding them).
    pub repeat_last: usize,
}

impl Reply {
    /// A whole response at once (with a `content-length`, so the connection stays open).
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            chunks: vec![(Duration::ZERO, bytes.into())],
            keep_alive: true,
            repeat_last: 0,
        }
    }

    /// A response whose head is sent now and whose body follows in `chunks` (each after its
    /// delay); the connection is closed after it.
    pub fn streamed(head: &str, chunks: Vec<(Duration, Vec<u8>)>) -> Reply {
        let mut all = vec![(Duration::ZERO, head.as_bytes().to_vec())];
        all.extend(chunks);
        Reply {
            chunks: all,
            keep_alive: false,
            repeat_last: 0,
        }
    }

    /// A response whose body is `chunk` written `times` times after `head`.
    pub fn repeated(head: &str, chunk: Vec<u8>, times: usize) -> Reply {
        let mut r = Reply::streamed(head, vec![(Duration::ZERO, chunk)]);
        r.repeat_last = times.saturating_sub(1);
        r
    }

    /// A response with a status line, extra header lines and a JSON body.
    pub fn status(status: &str, headers: &[(&str, String)], body: &str) -> Reply {
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(body);
        Reply::raw(out)
    }

    /// A redirect to `location`.
    pub fn redirect(status: &str, location: &str) -> Reply {
        Reply::status(status, &[("location", location.to_string())], "")
    }
}

/// Chooses the reply to a request.
pub type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The hostile HTTPS endpoint.
pub struct Hostile {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// PEM of the CA its certificate chains to.
    pub ca_pem: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _dir: tempfile::TempDir,
}

impl Hostile {
    /// Starts the endpoint with `responder`.
    pub async fn start(responder: Responder) -> Hostile {
        let dir = tempfile::tempdir().unwrap();
        let tls = scready_sim::tls::prepare(dir.path()).expect("TLS material");
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let responder = responder.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    // Requests one after another on the connection (keep-alive), until the
                    // client closes it or a reply does not say how long it is.
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        let head_end = loop {
                            if let Some(p) = find(&buf, b"\r\n\r\n") {
                                break p + 4;
                            }
                            match tls.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                        let mut lines = head.split("\r\n");
                        let mut first = lines.next().unwrap_or("").split(' ');
                        let method = first.next().unwrap_or("").to_string();
                        let target = first.next().unwrap_or("").to_string();
                        let mut authorization = None;
                        let mut length = 0usize;
                        for l in lines {
                            if let Some((k, v)) = l.split_once(':') {
                                let v = v.trim().to_string();
                                if k.eq_ignore_ascii_case("authorization") {
                                    authorization = Some(v);
                                } else if k.eq_ignore_ascii_case("content-length") {
                                    length = v.parse().unwrap_or(0);
                                }
                            }
                        }
                        while buf.len() < head_end + length {
                            match tls.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + length);
                        let request = Seen {
                            method,
                            target,
                            authorization,
                        };
                        log.lock().unwrap().push(request.clone());
                        let reply = responder(&request);
                        let keep_alive = reply.keep_alive;
                        let last = reply.chunks.last().map(|(_, b)| b.clone());
                        for (delay, bytes) in reply.chunks {
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            if tls.write_all(&bytes).await.is_err() {
                                return;
                            }
                            let _ = tls.flush().await;
                        }
                        if let Some(last) = last {
                            for _ in 0..reply.repeat_last {
                                if tls.write_all(&last).await.is_err() {
                                    return;
                                }
                            }
                        }
                        if !keep_alive {
                            let _ = tls.shutdown().await;
                            return;
                        }
                    }
                });
            }
        });
        Hostile {
            port,
            ca_pem: tls.ca_pem,
            seen,
            _dir: dir,
        }
    }

    /// `https://127.0.0.1:{port}/`.
    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A TCP listener that accepts, counts and drops connections: whatever reaches it, by any
/// protocol, is counted.
pub struct Counter {
    /// Its port on 127.0.0.1.
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Counter {
    /// Starts the listener.
    pub async fn start() -> Counter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(tcp);
            }
        });
        Counter { port, accepted }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
