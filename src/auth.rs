//! Credentials: where the scanner's ARM tokens come from (`--auth`).
//!
//! Every mode but `token` is an `azure_identity` 1.x credential; `token` is a bearer token from
//! `SCREADY_ACCESS_TOKEN`. A [`TokenSource`] can be renewed: when ARM rejects a token as expired
//! before its stated expiry, the credential is rebuilt (with an empty cache) and asked again.
//! Tokens are wrapped in `Secret` and never printed; `Debug` output of every type here redacts.

use crate::cloud::Cloud;
use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use std::sync::{Arc, Mutex};

/// How the scanner authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Workload identity, then managed identity, then developer tools (Azure CLI, azd).
    Auto,
    /// Azure CLI (`az login`).
    Cli,
    /// The managed identity of the host (IMDS, App Service, Arc…).
    ManagedIdentity,
    /// Workload identity: a federated token file (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// A service principal secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`).
    ClientSecret,
    /// A bearer token in `SCREADY_ACCESS_TOKEN`.
    Token,
}

impl AuthMode {
    /// The name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            AuthMode::Auto => "auto",
            AuthMode::Cli => "Azure CLI credential",
            AuthMode::ManagedIdentity => "managed identity credential",
            AuthMode::WorkloadIdentity => "workload identity credential",
            AuthMode::ClientSecret => "client secret credential",
            AuthMode::Token => "static token (SCREADY_ACCESS_TOKEN)",
        }
    }
}

/// A credential that cannot produce a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{credential}: {reason}")]
pub struct AuthError {
    /// Which credential was tried.
    pub credential: String,
    /// Why it failed.
    pub reason: String,
}

/// A source of ARM bearer tokens.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A valid token (possibly cached).
    async fn token(&self) -> Result<Secret, AuthError>;
    /// Replaces `rejected` (a token ARM refused before its stated expiry): the next
    /// [`TokenSource::token`] obtains a new one. Concurrent callers that report the same token
    /// cause one renewal; returns whether this call renewed.
    async fn renew(&self, rejected: &Secret) -> Result<bool, AuthError>;
    /// Which credential this is, for messages.
    fn describe(&self) -> String;
}

/// A fixed bearer token.
pub struct StaticToken {
    token: Secret,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> StaticToken {
        let token = token.into();
        crate::arm::redact::remember(&token);
        StaticToken {
            token: Secret::new(token),
        }
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<Secret, AuthError> {
        Ok(self.token.clone())
    }
    async fn renew(&self, _rejected: &Secret) -> Result<bool, AuthError> {
        Err(AuthError {
            credential: AuthMode::Token.label().into(),
            reason: "ARM rejected the token as expired or invalid, and a static token cannot be renewed; obtain a new one (e.g. az account get-access-token)".into(),
        })
    }
    fn describe(&self) -> String {
        AuthMode::Token.label().into()
    }
}

type Factory = Box<dyn Fn() -> Result<Arc<dyn TokenCredential>, AuthError> + Send + Sync>;

/// An `azure_identity` credential, rebuilt on renewal.
pub struct IdentityToken {
    name: String,
    scope: String,
    factory: Factory,
    current: Mutex<Arc<dyn TokenCredential>>,
    renewing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityToken")
            .field("credential", &self.name)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// A token source from a credential factory.
    pub fn new(name: &str, scope: &str, factory: Factory) -> Result<IdentityToken, AuthError> {
        // Building a credential sends nothing; the first token request does.
        let current = factory()?;
        Ok(IdentityToken {
            name: name.to_string(),
            scope: scope.to_string(),
            factory,
            current: Mutex::new(current),
            renewing: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait]
impl TokenSource for IdentityToken {
    async fn token(&self) -> Result<Secret, AuthError> {
        let credential = self.current.lock().unwrap().clone();
        credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map(|t| t.token)
            .map_err(|e| AuthError {
                credential: self.name.clone(),
                reason: first_line(&e.to_string()),
            })
    }
    async fn renew(&self, rejected: &Secret) -> Result<bool, AuthError> {
        let _one_at_a_time = self.renewing.lock().await;
        // Someone else may have renewed while this caller waited.
        if self
            .token()
            .await
            .ok()
            .is_some_and(|t| t.secret() != rejected.secret())
        {
            return Ok(false);
        }
        let fresh = (self.factory)()?;
        *self.current.lock().unwrap() = fresh;
        Ok(true)
    }
    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// The first line of a credential's error, with every secret scready sent replaced and the
/// length bounded: an identity endpoint's error text is text from outside.
fn first_line(s: &str) -> String {
    crate::arm::redact::clean(s.lines().next().unwrap_or(s).trim())
}

/// Environment lookup: the process environment in production, a map in tests.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Everything needed to build a credential.
#[derive(Clone)]
pub struct AuthSettings {
    /// The mode.
    pub mode: AuthMode,
    /// The cloud (authority host, ARM scope).
    pub cloud: Cloud,
    /// HTTP client used by credentials that call the identity platform (trusts `--ca-cert`).
    pub http: reqwest::Client,
    /// Environment lookup (the process environment in production).
    pub env: EnvLookup,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("mode", &self.mode)
            .field("cloud", &self.cloud.name)
            .finish_non_exhaustive()
    }
}

impl AuthSettings {
    fn client_options(&self) -> ClientOptions {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = self.cloud.authority_host.to_string();
        let cloud = match self.cloud.name.as_str() {
            "public" => CloudConfiguration::AzurePublic,
            "usgov" => CloudConfiguration::AzureGovernment,
            "china" => CloudConfiguration::AzureChina,
            _ => CloudConfiguration::Custom(custom),
        };
        ClientOptions {
            transport: Some(Transport::new(Arc::new(self.http.clone()))),
            cloud: Some(Arc::new(cloud)),
            ..Default::default()
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    fn need(&self, mode: AuthMode, name: &str) -> Result<String, AuthError> {
        self.var(name).ok_or_else(|| AuthError {
            credential: mode.label().into(),
            reason: format!("{name} is not set"),
        })
    }
}

/// Builds the token source for `--auth` and returns it with the mode that produced a token.
/// For `auto`, each candidate is asked for a token in order and the first that succeeds is
/// used; the error lists why each one failed.
pub async fn token_source(
    settings: &AuthSettings,
) -> Result<(Arc<dyn TokenSource>, AuthMode), AuthError> {
    match settings.mode {
        AuthMode::Auto => {
            let mut reasons = Vec::new();
            for mode in [
                AuthMode::WorkloadIdentity,
                AuthMode::ManagedIdentity,
                AuthMode::Cli,
            ] {
                if mode == AuthMode::WorkloadIdentity
                    && settings.var("AZURE_FEDERATED_TOKEN_FILE").is_none()
                {
                    reasons.push(format!(
                        "{}: AZURE_FEDERATED_TOKEN_FILE is not set",
                        mode.label()
                    ));
                    continue;
                }
                match build(settings, mode) {
                    Ok(source) => match source.token().await {
                        Ok(_) => return Ok((source, mode)),
                        Err(e) => reasons.push(e.to_string()),
                    },
                    Err(e) => reasons.push(e.to_string()),
                }
            }
            Err(AuthError {
                credential: "auto (workload identity, managed identity, developer tools)".into(),
                reason: reasons.join("; "),
            })
        }
        mode => {
            let source = build(settings, mode)?;
            source.token().await?;
            Ok((source, mode))
        }
    }
}

fn build(settings: &AuthSettings, mode: AuthMode) -> Result<Arc<dyn TokenSource>, AuthError> {
    let scope = settings.cloud.arm_scope.clone();
    let fail = move |e: azure_core::Error| AuthError {
        credential: mode.label().into(),
        reason: first_line(&e.to_string()),
    };
    let s = settings.clone();
    let factory: Factory = match mode {
        AuthMode::Token => {
            let token = settings.need(mode, "SCREADY_ACCESS_TOKEN")?;
            return Ok(Arc::new(StaticToken::new(token.trim())));
        }
        AuthMode::ClientSecret => {
            let tenant = settings.need(mode, "AZURE_TENANT_ID")?;
            let client = settings.need(mode, "AZURE_CLIENT_ID")?;
            let secret = settings.need(mode, "AZURE_CLIENT_SECRET")?;
            crate::arm::redact::remember(&secret);
            Box::new(move || {
                let options = azure_identity::ClientSecretCredentialOptions {
                    client_options: s.client_options(),
                };
                azure_identity::ClientSecretCredential::new(
                    &tenant,
                    client.clone(),
                    Secret::new(secret.clone()),
                    Some(options),
                )
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(fail)
            })
        }
        AuthMode::WorkloadIdentity => {
            let tenant = settings.need(mode, "AZURE_TENANT_ID")?;
            let client = settings.need(mode, "AZURE_CLIENT_ID")?;
            let file = settings.need(mode, "AZURE_FEDERATED_TOKEN_FILE")?;
            // The federated assertion is a secret too (it is sent to the token endpoint).
            if std::fs::metadata(&file).is_ok_and(|m| m.is_file() && m.len() < 1 << 20) {
                if let Ok(assertion) = std::fs::read_to_string(&file) {
                    crate::arm::redact::remember(&assertion);
                }
            }
            Box::new(move || {
                let options = azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: s.client_options(),
                    },
                    client_id: Some(client.clone()),
                    tenant_id: Some(tenant.clone()),
                    token_file_path: Some(file.clone().into()),
                };
                azure_identity::WorkloadIdentityCredential::new(Some(options))
                    .map(|c| c as Arc<dyn TokenCredential>)
                    .map_err(fail)
            })
        }
        AuthMode::ManagedIdentity => {
            let client_id = settings.var("AZURE_CLIENT_ID");
            if let Some(header) = settings.var("IDENTITY_HEADER") {
                crate::arm::redact::remember(&header);
            }
            Box::new(move || {
                let options = azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id
                        .clone()
                        .map(azure_identity::UserAssignedId::ClientId),
                    client_options: s.client_options(),
                };
                azure_identity::ManagedIdentityCredential::new(Some(options))
                    .map(|c| c as Arc<dyn TokenCredential>)
                    .map_err(fail)
            })
        }
        AuthMode::Cli => Box::new(move || {
            azure_identity::DeveloperToolsCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(fail)
        }),
        AuthMode::Auto => unreachable!("auto is resolved by token_source"),
    };
    Ok(Arc::new(IdentityToken::new(mode.label(), &scope, factory)?))
}

/// A token source for Microsoft Graph (group memberships) with the credential `mode` that
/// worked for ARM, or why there is none. No token is requested until one is needed. With
/// `--auth token`, a Graph token may be given in `SCREADY_GRAPH_TOKEN`.
pub fn graph_token_source(
    settings: &AuthSettings,
    mode: AuthMode,
) -> Result<Arc<dyn TokenSource>, String> {
    let mut graph = settings.clone();
    graph.cloud.arm_scope = settings.cloud.graph_scope.clone();
    match mode {
        AuthMode::Token => match settings.var("SCREADY_GRAPH_TOKEN") {
            Some(t) => Ok(Arc::new(StaticToken::new(t.trim())) as Arc<dyn TokenSource>),
            None => Err("a static ARM token cannot read Microsoft Graph (set SCREADY_GRAPH_TOKEN to a Graph token)".into()),
        },
        AuthMode::Auto => Err("no credential was chosen".into()),
        mode => build(&graph, mode).map_err(|e| e.to_string()),
    }
}

/// The payload of a JWT access token as JSON, read without verifying the signature; `None` for
/// a token that is not a JWT with a JSON object payload.
fn unverified_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// The object id (`oid` claim) of a JWT access token, read without verifying the signature
/// (the scanner only uses it to name itself in access checks).
pub fn object_id(token: &str) -> Option<String> {
    unverified_claims(token)?
        .get("oid")?
        .as_str()
        .map(str::to_string)
}

/// Whose token the scanner holds: a user's (signed in, delegated) or an application's (a
/// service principal or a managed identity acting as itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A user's token.
    User,
    /// An application's token (service principal or managed identity).
    App,
    /// The token does not say (opaque, or no claim that tells).
    Unknown,
}

impl TokenKind {
    /// The name used in reports (`user`, `app`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::App => "app",
            TokenKind::Unknown => "unknown",
        }
    }
}

/// What an access token says about its holder, read without verifying the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenIdentity {
    /// User, application, or unknown.
    pub kind: TokenKind,
    /// The `oid` claim, when present.
    pub object_id: Option<String>,
}

/// Reads the kind and object id of an access token from its claims.
///
/// The claims are those of the Microsoft identity platform's access-token claims reference
/// (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>):
/// `idtyp` (`app` or `user`; optional, so it may be absent) says the kind outright; `scp`
/// (delegated scopes) is issued only in a user's token, and `upn` / `unique_name` name a
/// signed-in user; `appid` (v1.0) or `azp` (v2.0) names the client application, present in both
/// kinds. So: `idtyp` when present; else any user claim makes a user's token; else a client
/// application without user claims makes an application's token (client credentials or managed
/// identity); else (an opaque token, or none of these claims) the kind is unknown.
pub fn token_identity(token: &str) -> TokenIdentity {
    let Some(claims) = unverified_claims(token) else {
        return TokenIdentity {
            kind: TokenKind::Unknown,
            object_id: None,
        };
    };
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let object_id = text("oid").map(str::to_string);
    let kind = match text("idtyp").map(str::to_ascii_lowercase).as_deref() {
        Some("user") => TokenKind::User,
        Some("app") => TokenKind::App,
        _ if ["scp", "upn", "unique_name"]
            .iter()
            .any(|c| text(c).is_some()) =>
        {
            TokenKind::User
        }
        _ if ["appid", "azp"].iter().any(|c| text(c).is_some()) => TokenKind::App,
        _ => TokenKind::Unknown,
    };
    TokenIdentity { kind, object_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_cannot_renew_and_debug_redacts() {
        let t = StaticToken::new("eyJ.secret.sig");
        assert_eq!(t.token().await.unwrap().secret(), "eyJ.secret.sig");
        assert!(t.renew(&Secret::new("eyJ.secret.sig")).await.is_err());
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn object_id_comes_from_the_payload() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let payload = URL_SAFE_NO_PAD.encode(br#"{"oid":"abc","tid":"t"}"#);
        assert_eq!(object_id(&format!("h.{payload}.s")).as_deref(), Some("abc"));
        assert_eq!(object_id("opaque"), None);
    }

    fn jwt(claims: serde_json::Value) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn token_kind_comes_from_idtyp_then_user_claims_then_the_client_application() {
        use serde_json::json;
        let kind = |claims| token_identity(&jwt(claims)).kind;
        // idtyp says it outright, even against the other claims.
        assert_eq!(kind(json!({"oid": "u", "idtyp": "user"})), TokenKind::User);
        assert_eq!(
            kind(json!({"oid": "a", "idtyp": "app", "appid": "c"})),
            TokenKind::App
        );
        assert_eq!(
            kind(json!({"oid": "a", "idtyp": "App", "upn": "x@y"})),
            TokenKind::App
        );
        // Without idtyp: delegated scopes or a user name make a user's token.
        assert_eq!(
            kind(json!({"oid": "u", "scp": "user_impersonation", "appid": "c"})),
            TokenKind::User
        );
        assert_eq!(
            kind(json!({"oid": "u", "upn": "ann@contoso.com", "azp": "c"})),
            TokenKind::User
        );
        assert_eq!(
            kind(json!({"oid": "u", "unique_name": "live.com#ann@outlook.com"})),
            TokenKind::User
        );
        // A client application and no user claim: an application's token (v1 and v2).
        assert_eq!(
            kind(json!({"oid": "a", "appid": "c", "roles": ["r"]})),
            TokenKind::App
        );
        assert_eq!(kind(json!({"oid": "a", "azp": "c"})), TokenKind::App);
        // Nothing that tells, an unexpected idtyp, empty values, an opaque token.
        assert_eq!(kind(json!({"oid": "x"})), TokenKind::Unknown);
        assert_eq!(
            kind(json!({"oid": "x", "idtyp": "device"})),
            TokenKind::Unknown
        );
        assert_eq!(
            kind(json!({"oid": "x", "scp": "", "appid": ""})),
            TokenKind::Unknown
        );
        assert_eq!(kind(json!(["not", "an", "object"])), TokenKind::Unknown);
        assert_eq!(
            token_identity("opaque-token"),
            TokenIdentity {
                kind: TokenKind::Unknown,
                object_id: None
            }
        );
        assert_eq!(
            token_identity(&jwt(json!({"oid": "abc", "idtyp": "user"})))
                .object_id
                .as_deref(),
            Some("abc")
        );
    }
}
