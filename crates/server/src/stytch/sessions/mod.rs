//! Sessions: `POST /v1/sessions/authenticate`, `POST /v1/sessions/revoke`, `GET /v1/sessions`,
//! `GET /v1/sessions/jwks/{project_id}`, and the session part every authenticate call shares.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberSessionId, ProjectId, SessionId, UserId};
use latchkey_core::jwt::{self, JwtProblem, KeyKind, SigningKey};
use latchkey_core::secret::{Secret, SecretDigest};
use latchkey_core::sessions::{
    AuthenticationFactor, MemberSession, Session, SessionObject, SessionPlan, SessionRef,
    SessionRequest, SESSION_CLAIM,
};
use latchkey_core::users::{User, UserRef};
use latchkey_store::{Missing, NewSession, SessionWrite, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::users::{find_user, given};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

mod authenticate;
mod error;
mod jwks;
mod list;
mod options;
mod revoke;

pub use error::SessionError;
pub use jwks::{jwks_reply, JwksResponse};
pub use options::*;
pub use revoke::EmptyResponse;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list))
        .routes(routes!(authenticate::authenticate))
        .routes(routes!(revoke::revoke))
        .routes(routes!(jwks::jwks))
}
