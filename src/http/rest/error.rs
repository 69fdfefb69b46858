//! The REST layer's one error type, [`ApiError`], and its wire form: the OneRoster
//! `imsx_StatusInfo` body (ONEROSTER.md §5) with the HTTP status of §5.4, and
//! `WWW-Authenticate` on 401/403 (RFC 6750).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value as Json};

/// OneRoster codeMinor values used by rosterbridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMinor {
    InvalidFilterField,
    InvalidSelectionField,
    InvalidBlankSelectionField,
    InvalidSortField,
    InvalidData,
    UnauthorisedRequest,
    Forbidden,
    UnknownObject,
    ServerBusy,
    InternalServerError,
}

impl CodeMinor {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeMinor::InvalidFilterField => "invalid_filter_field",
            CodeMinor::InvalidSelectionField => "invalid_selection_field",
            CodeMinor::InvalidBlankSelectionField => "invalid_blank_selection_field",
            CodeMinor::InvalidSortField => "invalid_sort_field",
            CodeMinor::InvalidData => "invaliddata",
            CodeMinor::UnauthorisedRequest => "unauthorisedrequest",
            CodeMinor::Forbidden => "forbidden",
            CodeMinor::UnknownObject => "unknownobject",
            CodeMinor::ServerBusy => "server_busy",
            CodeMinor::InternalServerError => "internal_server_error",
        }
    }
}

/// The `imsx_StatusInfo` object (also used, with `success`/`warning`, in 1.1's
/// `statusInfoSet`).
pub fn status_info(major: &str, severity: &str, minor: CodeMinor, description: &str) -> Json {
    json!({
        "imsx_codeMajor": major,
        "imsx_severity": severity,
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [{
                "imsx_codeMinorFieldName": "TargetEndSystem",
                "imsx_codeMinorFieldValue": minor.as_str(),
            }]
        }
    })
}

/// A failed REST request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {minor:?}: {description}")]
pub struct ApiError {
    pub status: StatusCode,
    pub minor: CodeMinor,
    pub description: String,
    /// `WWW-Authenticate` value for 401/403.
    pub challenge: Option<String>,
    /// `Retry-After` seconds for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, minor: CodeMinor, description: impl Into<String>) -> Self {
        ApiError {
            status,
            minor,
            description: description.into(),
            challenge: None,
            retry_after: None,
        }
    }

    pub fn bad(minor: CodeMinor, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, minor, description)
    }

    pub fn invalid_data(description: impl Into<String>) -> Self {
        Self::bad(CodeMinor::InvalidData, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, CodeMinor::UnknownObject, description)
    }

    /// 401: missing, invalid or expired credentials.
    pub fn unauthorised(description: impl Into<String>, challenge: &str) -> Self {
        ApiError {
            challenge: Some(challenge.to_string()),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                CodeMinor::UnauthorisedRequest,
                description,
            )
        }
    }

    /// 403: authenticated, but the scopes do not cover the operation.
    pub fn forbidden(description: impl Into<String>) -> Self {
        ApiError {
            challenge: Some("Bearer error=\"insufficient_scope\"".into()),
            ..Self::new(StatusCode::FORBIDDEN, CodeMinor::Forbidden, description)
        }
    }

    pub fn busy(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                CodeMinor::ServerBusy,
                "rate limit exceeded",
            )
        }
    }

    /// 500; the cause is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            CodeMinor::InternalServerError,
            "internal server error",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(c) = &self.challenge {
            res.insert_header((header::WWW_AUTHENTICATE, c.as_str()));
        }
        if let Some(s) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        res.json(status_info(
            "failure",
            "error",
            self.minor,
            &self.description,
        ))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        ApiError::internal(e)
    }
}
