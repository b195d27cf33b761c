//! What the Sessions product (consumer and B2B) refuses, in its own words; one `From` makes each
//! an answer.

use latchkey_core::sessions::SessionProblem;
use latchkey_store::{Missing, StoreError};

use crate::error::{ApiError, ErrorType};

#[derive(Debug)]
pub enum SessionError {
    /// No active session of this project and principal has the id, token or JWT given.
    NotFound,
    /// Neither `session_token` nor `session_jwt`.
    NoArguments,
    /// A revoke with none of `session_id`, `session_token` and `session_jwt`.
    NoRevokeArguments,
    /// A revoke with more than one of them.
    TooManyRevokeArguments,
    InvalidSessionId,
    /// A JWT that is malformed or not signed by one of the project's keys.
    UnparsableJwt,
    IntermediateNotFound,
    /// An `authorization_check`: Latchkey keeps no RBAC policy to check it against, and never
    /// answers one as if it had passed.
    AuthorizationCheckUnsupported,
    /// The session options of an authentication, refused by core's session rules.
    Problem(SessionProblem),
}

impl From<SessionProblem> for SessionError {
    fn from(problem: SessionProblem) -> SessionError {
        SessionError::Problem(problem)
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> ApiError {
        match error {
            SessionError::NotFound | SessionError::Problem(SessionProblem::NotFound) => {
                StoreError::NotFound(Missing::Session).into()
            }
            SessionError::Problem(SessionProblem::Input(error)) => error.into(),
            SessionError::NoArguments => ApiError::new(
                ErrorType::NoSessionArguments,
                "Include one of session_token or session_jwt.",
            ),
            SessionError::NoRevokeArguments => ApiError::new(
                ErrorType::NoSessionRevokeArguments,
                "Include one of session_id, session_token or session_jwt.",
            ),
            SessionError::TooManyRevokeArguments => ApiError::new(
                ErrorType::TooManySessionRevokeArguments,
                "Include only one of session_id, session_token or session_jwt.",
            ),
            SessionError::InvalidSessionId => {
                ApiError::new(ErrorType::InvalidSessionId, "session_id format is invalid.")
            }
            SessionError::UnparsableJwt => ApiError::new(
                ErrorType::UnableToParseSessionJwt,
                "The session JWT is malformed or was not signed by this project.",
            ),
            SessionError::AuthorizationCheckUnsupported => ApiError::bad_request(
                "authorization_check is not supported: this server keeps no RBAC policy to \
                 check it against. Authenticate the session without it.",
            ),
            SessionError::IntermediateNotFound => ApiError::new(
                ErrorType::IntermediateSessionNotFound,
                "The intermediate session could not be found.",
            ),
        }
    }
}
