//! The environment probe behind `websocket-blocked`: can this network resolve the Serial
//! Console host, open TCP to it and complete a TLS handshake? Run once per scan.

use crate::discover::hosts::HostResolver;
use crate::inventory::{EnvironmentProbe, HostProbe};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;

/// Probes each `host:port`, resolving names with `resolver`; `extra_roots` is the `--ca-cert` PEM.
pub async fn probe(
    targets: &[String],
    resolver: &HostResolver,
    extra_roots: Option<&[u8]>,
    timeout: Duration,
) -> EnvironmentProbe {
    let config = match client_config(extra_roots) {
        Ok(c) => c,
        Err(e) => {
            return EnvironmentProbe {
                hosts: targets
                    .iter()
                    .map(|t| HostProbe {
                        target: t.clone(),
                        reachable: false,
                        detail: format!("TLS configuration failed: {e}"),
                    })
                    .collect(),
            }
        }
    };
    let mut hosts = Vec::new();
    for t in targets {
        hosts.push(probe_one(t, resolver, config.clone(), timeout).await);
    }
    EnvironmentProbe { hosts }
}

fn client_config(extra_roots: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots: Vec<CertificateDer<'static>> = match extra_roots {
        Some(pem) => CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("--ca-cert: {e}"))?,
        None => Vec::new(),
    };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
            .map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn probe_one(
    target: &str,
    resolver: &HostResolver,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> HostProbe {
    let fail = |detail: String| HostProbe {
        target: target.to_string(),
        reachable: false,
        detail,
    };
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse::<u16>().unwrap()),
        _ => (target.to_string(), 443),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs = match tokio::time::timeout(timeout, resolver.resolve(&host)).await {
        Err(_) => return fail(format!("look-up of {host} timed out")),
        Ok(Err(e)) => return fail(e),
        Ok(Ok(a)) => a,
    };
    let Some(ip) = addrs.first().copied() else {
        return fail(format!("{host} resolves to no address"));
    };
    let addr = std::net::SocketAddr::new(ip, port);
    let tcp = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => return fail(format!("TCP connection to {addr} timed out")),
        Ok(Err(e)) => return fail(format!("cannot connect to {addr}: {e}")),
        Ok(Ok(s)) => s,
    };
    let name = match ServerName::try_from(host.clone()) {
        Ok(n) => n,
        Err(e) => return fail(format!("{host} is not a server name: {e}")),
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => fail(format!("TLS handshake with {target} timed out")),
        Ok(Err(e)) => fail(format!("TLS handshake with {target} failed: {e}")),
        Ok(Ok(_)) => HostProbe {
            target: target.to_string(),
            reachable: true,
            detail: "ok".into(),
        },
    }
}
