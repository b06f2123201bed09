//! TLS for the simulator: a private CA and a server certificate for 127.0.0.1 and localhost.
//!
//! The CA is generated at start, or reused from the state directory (`ca.pem` and `ca.key`) so
//! that clients configured with `--ca-cert` keep working across restarts. The server certificate
//! is issued fresh at every start.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File name of the CA certificate in the state directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key in the state directory.
pub const CA_KEY_FILE: &str = "ca.key";

/// The simulator's TLS material.
pub struct TlsMaterial {
    /// PEM of the CA certificate clients must trust.
    pub ca_pem: String,
    /// Where the CA certificate was written.
    pub ca_path: PathBuf,
    /// Server configuration for the listener.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "scready simulator CA");
    dn.push(DnType::OrganizationName, "scready");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
}

/// Loads the CA from `state_dir` or creates it there, then issues a server certificate.
pub fn prepare(state_dir: &Path) -> Result<TlsMaterial, String> {
    std::fs::create_dir_all(state_dir).map_err(|e| {
        format!(
            "{}: cannot create state directory: {e}",
            state_dir.display()
        )
    })?;
    let ca_path = state_dir.join(CA_CERT_FILE);
    let key_path = state_dir.join(CA_KEY_FILE);
    let (ca_pem, ca_key) = if ca_path.exists() && key_path.exists() {
        let key_pem = std::fs::read_to_string(&key_path)
            .map_err(|e| format!("{}: {e}", key_path.display()))?;
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| format!("{}: not a private key: {e}", key_path.display()))?;
        let pem =
            std::fs::read_to_string(&ca_path).map_err(|e| format!("{}: {e}", ca_path.display()))?;
        (pem, key)
    } else {
        let key = KeyPair::generate().map_err(|e| format!("cannot generate CA key: {e}"))?;
        let cert = ca_params()
            .self_signed(&key)
            .map_err(|e| format!("cannot create CA: {e}"))?;
        let pem = cert.pem();
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&ca_path, pem.as_bytes())
            .map_err(|e| format!("{}: {e}", ca_path.display()))?;
        (pem, key)
    };
    // The issuer only needs the CA's subject and key: a leaf signed this way chains to the
    // stored CA certificate.
    let issuer = Issuer::new(ca_params(), ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])
        .map_err(|e| format!("cannot build server certificate: {e}"))?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    leaf.distinguished_name
        .push(DnType::CommonName, "scready simulator");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(365);
    let leaf_key = KeyPair::generate().map_err(|e| format!("cannot generate server key: {e}"))?;
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| format!("cannot sign server certificate: {e}"))?;

    let chain = vec![leaf_cert.der().clone()];
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| format!("server key: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| format!("TLS server configuration: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem,
        ca_path,
        server_config: Arc::new(config),
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(bytes)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}
