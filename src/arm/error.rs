//! Typed errors of ARM calls: what failed, with the HTTP status and ARM error code when Azure
//! answered, so that discovery can record a precise coverage gap.

use crate::arm::models::{ErrorDetail, ErrorResponse};

/// An ARM call that failed after retries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    /// Azure answered with an error status.
    #[error("HTTP {status} {code}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// ARM error code (e.g. `AuthorizationFailed`), or the status text.
        code: String,
        /// ARM error message.
        message: String,
    },
    /// The request could not be completed (connection, TLS, timeout, broken body).
    #[error("transport error: {0}")]
    Transport(String),
    /// The response was not the JSON expected.
    #[error("malformed response: {0}")]
    Decode(String),
    /// A `nextLink` pointed at a page already read.
    #[error("paging loop: nextLink repeats {0}")]
    PagingLoop(String),
    /// No token could be obtained or renewed.
    #[error("authentication: {0}")]
    Auth(String),
    /// The client refused to send the request (e.g. a write).
    #[error("refused: {0}")]
    Refused(String),
    /// A response went past one of the client's limits (body size, items, pages).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The scan's `--max-duration` passed before the call could finish.
    #[error("deadline: {0}")]
    Deadline(String),
    /// The endpoint answered with a redirect, which scready never follows.
    #[error("HTTP {status} redirect to {target} refused: scready follows no redirect")]
    Redirect {
        /// HTTP status (301, 302, 303, 307, 308, …).
        status: u16,
        /// The scheme, host and port of `Location` (never its path or query), or `no Location`.
        target: String,
    },
}

impl ArmError {
    /// The HTTP status, if Azure answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Http { status, .. } | ArmError::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ARM error code, or a short label for non-HTTP failures.
    pub fn code(&self) -> &str {
        match self {
            ArmError::Http { code, .. } => code,
            ArmError::Transport(_) => "TransportError",
            ArmError::Decode(_) => "MalformedResponse",
            ArmError::PagingLoop(_) => "PagingLoop",
            ArmError::Auth(_) => "AuthenticationFailed",
            ArmError::Refused(_) => "Refused",
            ArmError::Redirect { .. } => "RedirectRefused",
            ArmError::Limit(_) => "LimitExceeded",
            ArmError::Deadline(_) => "DeadlineExceeded",
        }
    }

    /// The message without the code.
    pub fn message(&self) -> String {
        match self {
            ArmError::Http { message, .. } => message.clone(),
            ArmError::Transport(m)
            | ArmError::Decode(m)
            | ArmError::PagingLoop(m)
            | ArmError::Auth(m)
            | ArmError::Refused(m)
            | ArmError::Limit(m)
            | ArmError::Deadline(m) => m.clone(),
            ArmError::Redirect { .. } => self.to_string(),
        }
    }

    /// The error of a 3xx answer: its status and where `Location` points (scheme, host and
    /// port only, so that nothing a hostile endpoint put in the path reaches a report).
    pub fn redirect(status: u16, headers: &azure_core::http::headers::Headers) -> ArmError {
        let location = azure_core::http::headers::HeaderName::from_static("location");
        let target = match headers.get_optional_str(&location) {
            None => "no Location".to_string(),
            Some(l) => match url::Url::parse(l) {
                Ok(u) => format!(
                    "{}://{}",
                    u.scheme(),
                    u.host_str()
                        .map(|h| match u.port() {
                            Some(p) => format!("{h}:{p}"),
                            None => h.to_string(),
                        })
                        .unwrap_or_default()
                ),
                Err(_) => "a relative or malformed Location".to_string(),
            },
        };
        ArmError::Redirect { status, target }
    }

    /// Builds the error of an HTTP error response from its body (enveloped or bare). The code
    /// and message are taken as text from outside: secrets scready sent are replaced and the
    /// length is bounded ([`crate::arm::redact::clean`]).
    pub fn from_response(status: u16, body: &[u8]) -> ArmError {
        match Self::from_response_raw(status, body) {
            ArmError::Http {
                status,
                code,
                message,
            } => ArmError::Http {
                status,
                code: crate::arm::redact::clean(&code),
                message: crate::arm::redact::clean(&message),
            },
            other => other,
        }
    }

    fn from_response_raw(status: u16, body: &[u8]) -> ArmError {
        let detail = serde_json::from_slice::<ErrorResponse>(body)
            .map(|e| e.error)
            .or_else(|_| serde_json::from_slice::<ErrorDetail>(body))
            .ok()
            .filter(|d| !d.code.is_empty() || !d.message.is_empty());
        match detail {
            Some(d) => ArmError::Http {
                status,
                code: if d.code.is_empty() {
                    status_text(status).to_string()
                } else {
                    d.code
                },
                message: d.message,
            },
            None => ArmError::Http {
                status,
                code: status_text(status).to_string(),
                message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            },
        }
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "HttpError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enveloped_and_bare_error_bodies_keep_code_and_message() {
        let e = ArmError::from_response(
            403,
            br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#,
        );
        assert_eq!(e.status(), Some(403));
        assert_eq!(e.code(), "AuthorizationFailed");
        assert_eq!(e.message(), "no");
        let e =
            ArmError::from_response(404, br#"{"code":"SubscriptionNotFound","message":"gone"}"#);
        assert_eq!(e.code(), "SubscriptionNotFound");
        let e = ArmError::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), "BadGateway");
        assert!(e.message().contains("bad gateway"));
    }
}
