//! Access tokens: JWTs signed by the simulator (HS256) carrying the principal's object id.
//!
//! Real Entra ID tokens are JWTs whose payload names the caller in `oid` and its tenant in `tid`;
//! the simulator's tokens have the same claims, so a client that reads its own object id from the
//! token works unchanged. Each token carries a sequence number (`uti`) so that an injected
//! "token expired" fault can invalidate every token issued before it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The audience of ARM tokens.
pub const ARM_AUDIENCE: &str = "https://management.azure.com/";
/// The audience of Microsoft Graph tokens.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
/// The audience of federated (workload identity) assertions.
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Claims of a simulator token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Object id of the principal.
    pub oid: String,
    /// Subject.
    pub sub: String,
    /// Tenant.
    pub tid: String,
    /// Client (application) id, for service principals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// `app` or `user`; empty (and not sent) in a token of unstated kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub idtyp: String,
    /// Sequence number of the token.
    pub uti: String,
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this simulator signed.
    Invalid(String),
    /// Past its expiry, or issued before an injected expiry.
    Expired {
        /// When it expired (Unix seconds).
        exp: u64,
    },
}

/// Signs and verifies tokens.
#[derive(Debug)]
pub struct TokenAuthority {
    key: aws_lc_rs::hmac::Key,
    next_seq: AtomicU64,
    /// Tokens with a sequence number below this are expired.
    valid_from_seq: AtomicU64,
    /// Lifetime of issued tokens in seconds.
    pub lifetime_secs: AtomicU64,
}

/// The audience a token request is for, from its scope or resource.
pub fn audience_for_scope(scope: &str) -> &'static str {
    let s = scope.to_ascii_lowercase();
    if s.contains("graph.microsoft") || s.contains("graph.windows") || s.contains("microsoftgraph")
    {
        GRAPH_AUDIENCE
    } else {
        ARM_AUDIENCE
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenAuthority {
    /// An authority with a fresh random key.
    pub fn new(lifetime_secs: u64) -> TokenAuthority {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key =
            aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng).expect("random key");
        TokenAuthority {
            key,
            next_seq: AtomicU64::new(1),
            valid_from_seq: AtomicU64::new(0),
            lifetime_secs: AtomicU64::new(lifetime_secs),
        }
    }

    /// Issues an ARM access token for a principal.
    pub fn issue(&self, oid: &str, tid: &str, appid: Option<&str>, is_app: bool) -> (String, u64) {
        self.issue_for(ARM_AUDIENCE, oid, tid, appid, is_app)
    }

    /// Issues an access token for an audience (ARM or Graph).
    pub fn issue_for(
        &self,
        audience: &str,
        oid: &str,
        tid: &str,
        appid: Option<&str>,
        is_app: bool,
    ) -> (String, u64) {
        let idtyp = if is_app { "app" } else { "user" };
        let (claims, lifetime) = self.claims(audience, oid, tid, appid, idtyp);
        (self.sign(&claims), lifetime)
    }

    /// Issues an access token that names the principal (`oid`) but neither its kind (`idtyp`)
    /// nor a client application or user name: a token whose holder's kind cannot be told.
    pub fn issue_unstated_kind(&self, audience: &str, oid: &str, tid: &str) -> String {
        let (claims, _) = self.claims(audience, oid, tid, None, "");
        self.sign(&claims)
    }

    /// The claims of a new token and its lifetime in seconds.
    fn claims(
        &self,
        audience: &str,
        oid: &str,
        tid: &str,
        appid: Option<&str>,
        idtyp: &str,
    ) -> (Claims, u64) {
        let now = now_secs();
        let lifetime = self.lifetime_secs.load(Ordering::Relaxed);
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        let claims = Claims {
            aud: audience.to_string(),
            iss: format!("https://sts.windows.net/{tid}/"),
            iat: now,
            nbf: now.saturating_sub(300),
            exp: now + lifetime,
            oid: oid.to_string(),
            sub: oid.to_string(),
            tid: tid.to_string(),
            appid: appid.map(str::to_string),
            idtyp: idtyp.to_string(),
            uti: seq.to_string(),
        };
        (claims, lifetime)
    }

    /// Issues a federated assertion (as a Kubernetes service-account token would be) that the
    /// token endpoint accepts as a workload-identity client assertion for `client_id`.
    pub fn issue_federated(&self, client_id: &str) -> String {
        let now = now_secs();
        let claims = Claims {
            aud: FEDERATION_AUDIENCE.to_string(),
            iss: "https://oidc.simulator.local/".to_string(),
            iat: now,
            nbf: now.saturating_sub(60),
            exp: now + 3600,
            oid: client_id.to_string(),
            sub: format!("system:serviceaccount:default:{client_id}"),
            tid: String::new(),
            appid: Some(client_id.to_string()),
            idtyp: "app".to_string(),
            uti: "0".to_string(),
        };
        self.sign(&claims)
    }

    fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let tag = aws_lc_rs::hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Verifies a token's signature and lifetime and returns its claims.
    pub fn verify(&self, token: &str, audience: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid("the token is not a JWT".into()));
        };
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenError::Invalid("the signature is not base64url".into()))?;
        aws_lc_rs::hmac::verify(&self.key, format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| TokenError::Invalid("the signature does not verify".into()))?;
        let payload = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| TokenError::Invalid("the payload is not base64url".into()))?;
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Invalid("the payload is not a claims object".into()))?;
        if claims.aud.trim_end_matches('/') != audience.trim_end_matches('/') {
            return Err(TokenError::Invalid(format!(
                "the audience '{}' is not '{audience}'",
                claims.aud
            )));
        }
        let seq: u64 = claims.uti.parse().unwrap_or(0);
        if claims.exp <= now_secs()
            || (audience != FEDERATION_AUDIENCE && seq < self.valid_from_seq.load(Ordering::SeqCst))
        {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        Ok(claims)
    }

    /// Expires every token issued so far.
    pub fn expire_all(&self) {
        let next = self.next_seq.load(Ordering::SeqCst);
        self.valid_from_seq.store(next, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_carry_the_object_id() {
        let auth = TokenAuthority::new(3600);
        let (token, lifetime) = auth.issue("oid-1", "tid-1", Some("app-1"), true);
        assert_eq!(lifetime, 3600);
        let claims = auth.verify(&token, ARM_AUDIENCE).unwrap();
        assert_eq!(claims.oid, "oid-1");
        assert_eq!(claims.tid, "tid-1");
    }

    #[test]
    fn tokens_say_whose_kind_they_are_unless_issued_without_it() {
        let auth = TokenAuthority::new(3600);
        let payload = |token: &str| -> serde_json::Value {
            let p = token.split('.').nth(1).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        let (user, _) = auth.issue("u", "t", None, false);
        let (app, _) = auth.issue("a", "t", Some("c"), true);
        let unstated = auth.issue_unstated_kind(ARM_AUDIENCE, "x", "t");
        assert_eq!(payload(&user)["idtyp"], "user");
        assert_eq!(payload(&app)["idtyp"], "app");
        assert!(payload(&unstated).get("idtyp").is_none());
        assert!(payload(&unstated).get("appid").is_none());
        assert_eq!(auth.verify(&unstated, ARM_AUDIENCE).unwrap().oid, "x");
    }

    #[test]
    fn tampered_and_foreign_tokens_are_invalid() {
        let auth = TokenAuthority::new(3600);
        let other = TokenAuthority::new(3600);
        let (token, _) = other.issue("oid", "tid", None, false);
        assert!(matches!(
            auth.verify(&token, ARM_AUDIENCE),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            auth.verify("abc", ARM_AUDIENCE),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn expire_all_invalidates_earlier_tokens_only() {
        let auth = TokenAuthority::new(3600);
        let (old, _) = auth.issue("oid", "tid", None, false);
        auth.expire_all();
        let (new, _) = auth.issue("oid", "tid", None, false);
        assert!(matches!(
            auth.verify(&old, ARM_AUDIENCE),
            Err(TokenError::Expired { .. })
        ));
        assert!(auth.verify(&new, ARM_AUDIENCE).is_ok());
    }
}
