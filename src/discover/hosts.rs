//! Storage URIs and blob hosts: parsing a boot-diagnostics `storageUri` into its account, and
//! finding out whether an account that no visible subscription holds exists at all.

use crate::cloud::{Cloud, HostLookup};
use crate::inventory::HostExistence;
use std::collections::BTreeMap;
use std::time::Duration;

/// The lower-case host of a storage URI, tolerating a missing scheme and trailing slashes.
pub fn blob_host(storage_uri: &str) -> Option<String> {
    let trimmed = storage_uri.trim();
    // The common shape, `[http[s]://]host[/path]` with a plain DNS name, without a URL parser
    // (the checks ask for every custom boot-diagnostics URI several times).
    let lower_scheme = |p: &str| {
        trimmed
            .get(..p.len())
            .filter(|s| s.eq_ignore_ascii_case(p))
            .map(|_| &trimmed[p.len()..])
    };
    let rest = lower_scheme("https://")
        .or_else(|| lower_scheme("http://"))
        .unwrap_or(trimmed);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let plain = !host.is_empty()
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    // A numeric last label makes the URL parser read an IPv4 address: leave that to it.
    let numeric = host
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    if plain && !numeric && (rest.len() != trimmed.len() || !trimmed.contains(':')) {
        let host = host.trim_end_matches('.');
        if !host.is_empty() {
            return Some(host.to_ascii_lowercase());
        }
    }
    url_host(trimmed)
}

/// The host as the URL parser reads it (a bare host taken as `https://`), lower case, without
/// a trailing dot: what [`blob_host`]'s fast path must agree with.
fn url_host(trimmed: &str) -> Option<String> {
    let parsed = url::Url::parse(trimmed)
        .ok()
        .filter(|u| u.host_str().is_some())
        .or_else(|| url::Url::parse(&format!("https://{trimmed}")).ok())?;
    let host = parsed
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The host of a storage URI when it is already in [`blob_host`]'s form (lower case, a plain DNS
/// name, no trailing dot), borrowed from the URI: a look-up key that costs no allocation. `None`
/// means "ask [`blob_host`]", not "no host".
pub fn plain_blob_host(storage_uri: &str) -> Option<&str> {
    let rest = storage_uri
        .strip_prefix("https://")
        .or_else(|| storage_uri.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    let plain = !host.is_empty()
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !host
            .rsplit('.')
            .next()
            .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    plain.then_some(host)
}

/// The storage account name of a blob host (`acct.blob.core.windows.net` → `acct`), when the
/// host ends in a known cloud's blob suffix.
pub fn account_name(host: &str) -> Option<String> {
    Cloud::known_blob_suffixes().iter().find_map(|suffix| {
        host.strip_suffix(suffix)
            .and_then(|p| p.strip_suffix('.'))
            .filter(|n| !n.is_empty() && !n.contains('.'))
            .map(str::to_string)
    })
}

/// Looks up whether blob hosts exist.
#[derive(Clone, Debug)]
pub struct HostResolver {
    lookup: HostLookup,
    http: reqwest::Client,
}

impl HostResolver {
    /// A resolver for a cloud; `http` is used for the simulator's look-up endpoint.
    pub fn new(cloud: &Cloud, http: reqwest::Client) -> HostResolver {
        HostResolver {
            lookup: cloud.host_lookup.clone(),
            http,
        }
    }

    /// Whether `host` exists.
    pub async fn exists(&self, host: &str) -> HostExistence {
        match &self.lookup {
            HostLookup::Dns => {
                let fut = tokio::net::lookup_host((host.to_string(), 443));
                match tokio::time::timeout(Duration::from_secs(10), fut).await {
                    Err(_) => HostExistence::Unknown(format!("DNS look-up of {host} timed out")),
                    Ok(Ok(mut addrs)) => {
                        if addrs.next().is_some() {
                            HostExistence::Exists
                        } else {
                            HostExistence::Missing
                        }
                    }
                    Ok(Err(e)) => {
                        let text = e.to_string();
                        let nx = [
                            "not known",
                            "No address associated",
                            "nodename nor servname",
                            "No such host",
                        ]
                        .iter()
                        .any(|m| text.contains(m));
                        if nx {
                            HostExistence::Missing
                        } else {
                            HostExistence::Unknown(format!("DNS look-up of {host} failed: {text}"))
                        }
                    }
                }
            }
            HostLookup::Endpoint(url) => {
                let mut u = url.clone();
                u.query_pairs_mut().append_pair("name", host);
                let answer = async {
                    let resp = self.http.get(u).send().await.map_err(|e| e.to_string())?;
                    if !resp.status().is_success() {
                        return Err(format!("HTTP {}", resp.status().as_u16()));
                    }
                    let body = resp.bytes().await.map_err(|e| e.to_string())?;
                    let v: serde_json::Value =
                        serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                    v.get("exists")
                        .and_then(|b| b.as_bool())
                        .ok_or_else(|| "the answer has no 'exists' field".to_string())
                };
                match answer.await {
                    Ok(true) => HostExistence::Exists,
                    Ok(false) => HostExistence::Missing,
                    Err(e) => HostExistence::Unknown(format!("look-up of {host} failed: {e}")),
                }
            }
        }
    }

    /// The addresses of `host`: an IP literal as is, else the system resolver (real clouds) or
    /// the simulator's look-up endpoint (`--cloud custom`).
    pub async fn resolve(&self, host: &str) -> Result<Vec<std::net::IpAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return Ok(vec![ip]);
        }
        match &self.lookup {
            HostLookup::Dns => {
                let fut = tokio::net::lookup_host((bare.to_string(), 443));
                match tokio::time::timeout(Duration::from_secs(10), fut).await {
                    Err(_) => Err(format!("DNS look-up of {bare} timed out")),
                    Ok(Err(e)) => Err(format!("cannot resolve {bare}: {e}")),
                    Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
                }
            }
            HostLookup::Endpoint(url) => {
                let mut u = url.clone();
                u.query_pairs_mut().append_pair("name", bare);
                let resp = self.http.get(u).send().await.map_err(|e| e.to_string())?;
                let body = resp.bytes().await.map_err(|e| e.to_string())?;
                let v: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                if v.get("exists").and_then(|b| b.as_bool()) != Some(true) {
                    return Err(format!("cannot resolve {bare}: no such host"));
                }
                Ok(v.get("addresses")
                    .and_then(|a| a.as_array())
                    .map(|a| a.iter().filter_map(|x| x.as_str()?.parse().ok()).collect())
                    .unwrap_or_default())
            }
        }
    }

    /// Looks up every host (a few at a time).
    pub async fn lookup_all(&self, hosts: &[String]) -> BTreeMap<String, HostExistence> {
        use futures::StreamExt;
        futures::stream::iter(hosts.iter().cloned())
            .map(|h| async move {
                let r = self.exists(&h).await;
                (h, r)
            })
            .buffer_unordered(16)
            .collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_uri_forms() {
        for (uri, host) in [
            (
                "https://diag.blob.core.windows.net/",
                "diag.blob.core.windows.net",
            ),
            (
                "https://Diag.blob.core.windows.net",
                "diag.blob.core.windows.net",
            ),
            (
                "http://diag.blob.core.windows.net//",
                "diag.blob.core.windows.net",
            ),
            ("diag.blob.core.windows.net", "diag.blob.core.windows.net"),
            (
                " https://diag.blob.core.usgovcloudapi.net/ ",
                "diag.blob.core.usgovcloudapi.net",
            ),
        ] {
            assert_eq!(blob_host(uri).as_deref(), Some(host), "{uri}");
        }
        assert_eq!(blob_host(""), None);
        assert_eq!(
            account_name("diag.blob.core.windows.net").as_deref(),
            Some("diag")
        );
        assert_eq!(
            account_name("diag.blob.core.chinacloudapi.cn").as_deref(),
            Some("diag")
        );
        assert_eq!(account_name("example.com"), None);
    }

    /// The URL parser's answer, which the fast path must reproduce.
    fn parsed(storage_uri: &str) -> Option<String> {
        url_host(storage_uri.trim())
    }

    #[test]
    fn the_fast_path_agrees_with_the_url_parser() {
        for uri in [
            "https://diag.blob.core.windows.net/",
            "HTTPS://DIAG.Blob.Core.Windows.Net",
            "http://diag.blob.core.windows.net//x?y#z",
            "diag.blob.core.windows.net//",
            "diag.blob.core.windows.net.",
            "https://diag.blob.core.windows.net./",
            "https://diag.blob.core.windows.net:443/",
            "https://user@diag.blob.core.windows.net/",
            "https://diag.blob.core.windows.net\\x",
            "https://10.0.0.1/",
            "https://0x7f.1/",
            "https://a..b/",
            "ftp://diag.blob.core.windows.net/",
            "https://dia_g.blob.core.windows.net/",
            "https://xn--dag-sna.blob.core.windows.net/",
            "https:///path",
            "https://",
            "/relative/path",
            "?q",
            "",
            "   ",
        ] {
            assert_eq!(blob_host(uri), parsed(uri), "{uri:?}");
        }
    }
}
