//! Sessions: `POST /v1/sessions/authenticate`, `POST /v1/sessions/revoke`, `GET /v1/sessions`,
//! `GET /v1/sessions/jwks/{project_id}`, and the session part every authenticate call shares.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{ProjectId, SessionId, UserId};
use latchkey_core::jwt::{self, JwtProblem};
use latchkey_core::secret::{Secret, SecretDigest};
use latchkey_core::sessions::{
    AuthenticationFactor, Session, SessionObject, SessionPlan, SessionProblem, SessionRef,
    SessionRequest, SESSION_CLAIM,
};
use latchkey_core::users::{User, UserRef};
use latchkey_store::{Missing, NewSession, SessionWrite, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::users::{find_user, given};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(authenticate))
        .routes(routes!(revoke))
        .routes(routes!(jwks))
}

/// Neither `session_token` nor `session_jwt`, where one is required.
pub fn no_session_arguments() -> ApiError {
    ApiError::new(
        ErrorType::NoSessionArguments,
        "Include one of session_token or session_jwt.",
    )
}

pub fn session_not_found() -> ApiError {
    StoreError::NotFound(Missing::Session).into()
}

/// The session fields of every authenticate request.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionOptions {
    /// A session to continue, by its token…
    pub session_token: Option<String>,
    /// …or by a JWT of it.
    pub session_jwt: Option<String>,
    /// Start (or extend) a session lasting this long: 5 to 527040 minutes.
    pub session_duration_minutes: Option<i64>,
    /// Claims to merge into the session's JWTs; `null` values remove a claim.
    #[schema(value_type = Option<Object>)]
    pub session_custom_claims: Option<Value>,
}

impl SessionOptions {
    /// The options, checked before any factor is verified or any session looked up.
    pub fn parse(&self) -> Result<SessionRequest, ApiError> {
        Ok(SessionRequest::parse(
            self.session_token.clone(),
            self.session_jwt.clone(),
            self.session_duration_minutes,
            self.session_custom_claims.clone(),
        )?)
    }
}

/// An existing session named by a request, and the token it was named by (empty when it was
/// named by a JWT: tokens are stored only as digests, so they cannot be given back).
pub struct Presented {
    pub session: Session,
    pub token: String,
}

/// The answer to a plan that cannot be made.
pub fn session_problem(problem: SessionProblem) -> ApiError {
    match problem {
        SessionProblem::NotFound => session_not_found(),
        SessionProblem::Input(error) => error.into(),
    }
}

/// Finds the active session a token or a JWT names; `None` when neither is given.
pub async fn presented_session(
    state: &AppState,
    project_id: &ProjectId,
    named: Option<&SessionRef>,
    now: DateTime<Utc>,
) -> Result<Option<Presented>, ApiError> {
    let (session, token) = match named {
        None => return Ok(None),
        Some(SessionRef::Token(token)) => {
            let session = state
                .store
                .session_by_token(project_id, &SecretDigest::of(token))
                .await?;
            (session, token.clone())
        }
        Some(SessionRef::Jwt(jwt)) => {
            let session_id = jwt_session_id(state, project_id, jwt)
                .await?
                .and_then(|id| SessionId::parse(&id).ok())
                .ok_or_else(session_not_found)?;
            (
                state.store.session_by_id(project_id, &session_id).await?,
                String::new(),
            )
        }
    };
    match session {
        Some(session) if session.is_active(now) => Ok(Some(Presented { session, token })),
        _ => Err(session_not_found()),
    }
}

/// The active session a request must name by `session_token` or `session_jwt`.
pub async fn required_session(
    state: &AppState,
    project_id: &ProjectId,
    request: &SessionRequest,
    now: DateTime<Utc>,
) -> Result<Presented, ApiError> {
    presented_session(state, project_id, request.presented(), now)
        .await?
        .ok_or_else(no_session_arguments)
}

/// Decides the session part of an authentication of `user_id` by `factor`, given the session
/// the request presented: that session with the factor attached, a new one when
/// `session_duration_minutes` asks, or none. Without a factor no session is started. Returns
/// the write and the token to answer with.
pub fn plan_with(
    project_id: &ProjectId,
    user_id: &UserId,
    presented: Option<Presented>,
    request: &SessionRequest,
    factor: Option<AuthenticationFactor>,
    now: DateTime<Utc>,
) -> Result<(Option<SessionWrite>, String), ApiError> {
    let (presented, token) = match presented {
        Some(Presented { session, token }) => (Some(session), token),
        None => (None, String::new()),
    };
    let plan = request
        .plan(presented, user_id.as_str(), factor, None, now)
        .map_err(session_problem)?;
    Ok(match plan {
        SessionPlan::None => (None, String::new()),
        SessionPlan::Start {
            factor,
            expires_at,
            custom_claims,
        } => {
            let (new, token) = new_session(project_id, expires_at, custom_claims);
            (Some(SessionWrite::Start(new, factor)), token)
        }
        SessionPlan::Extend(session) | SessionPlan::Attach(session) => {
            (Some(SessionWrite::Continue(session)), token)
        }
    })
}

/// A session to start, and its token (shown once; only its digest is stored).
pub fn new_session(
    project_id: &ProjectId,
    expires_at: DateTime<Utc>,
    custom_claims: Map<String, Value>,
) -> (NewSession, String) {
    let token = Secret::generate_token();
    let new = NewSession {
        session_id: SessionId::generate(project_id.environment()),
        token_digest: token.digest(),
        expires_at,
        custom_claims,
    };
    (new, token.expose().to_owned())
}

/// `session_token`, `session_jwt` and `session` for a response; empty strings and `null` when
/// there is no session.
pub async fn session_fields(
    state: &AppState,
    project_id: &ProjectId,
    session: Option<&Session>,
    token: &str,
    roles: &[String],
    now: DateTime<Utc>,
) -> Result<(String, String, Option<SessionObject>), ApiError> {
    let Some(session) = session else {
        return Ok((String::new(), String::new(), None));
    };
    let jwt = sign(
        state,
        project_id,
        &session.jwt_claims(project_id, roles, now),
    )
    .await?;
    Ok((token.to_owned(), jwt, Some(session.to_object(roles))))
}

/// Signs `claims` with the project's current key.
pub async fn sign(
    state: &AppState,
    project_id: &ProjectId,
    claims: &Value,
) -> Result<String, ApiError> {
    let keys = state.store.signing_keys(project_id).await?;
    let key = keys.first().ok_or_else(|| {
        tracing::error!(project_id = %project_id, "project has no signing key");
        ApiError::internal()
    })?;
    key.sign(claims).map_err(|error| {
        tracing::error!(%error, "signing a session JWT failed");
        ApiError::internal()
    })
}

/// The session id a JWT signed by the project carries. An expired JWT still names its session,
/// whose own state then decides (as with Stytch).
pub async fn jwt_session_id(
    state: &AppState,
    project_id: &ProjectId,
    jwt: &str,
) -> Result<Option<String>, ApiError> {
    let keys = state.store.signing_keys(project_id).await?;
    let (claims, _expired) =
        jwt::verify(jwt, &keys, project_id).map_err(|JwtProblem::Invalid| {
            ApiError::new(
                ErrorType::UnableToParseSessionJwt,
                "The session JWT is malformed or was not signed by this project.",
            )
        })?;
    Ok(claims[SESSION_CLAIM]["id"].as_str().map(str::to_owned))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionAuthenticateRequest {
    #[serde(flatten)]
    session: SessionOptions,
}

#[derive(Serialize, ToSchema)]
pub struct SessionAuthenticateResponse {
    session: Option<SessionObject>,
    session_token: String,
    session_jwt: String,
    user: UserObject,
}

/// Check a session by its token or a JWT of it, optionally extending it or changing its custom
/// claims; answers with a fresh JWT.
#[utoipa::path(post, path = "/v1/sessions/authenticate", tag = "sessions",
    operation_id = "sessions.authenticate", request_body = SessionAuthenticateRequest,
    responses((status = 200, description = "The session, still active.",
               body = Envelope<SessionAuthenticateResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SessionAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let options = request.session.parse()?;
    let presented = required_session(&state, project_id, &options, now).await?;
    let user_id = presented.session.user_id.clone();
    let (write, token) = plan_with(project_id, &user_id, Some(presented), &options, None, now)?;
    let Some(SessionWrite::Continue(session)) = write else {
        tracing::error!("a presented session was not continued");
        return Err(ApiError::internal());
    };
    state.store.save_session(project_id, &session).await?;
    let user = state
        .store
        .get_user(project_id, &UserRef::Id(session.user_id.clone()))
        .await?
        .ok_or_else(session_not_found)?;
    let (session_token, session_jwt, session) =
        session_fields(&state, project_id, Some(&session), &token, &user.roles, now).await?;
    let body = SessionAuthenticateResponse {
        session,
        session_token,
        session_jwt,
        user: UserObject::new(&user, now),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Exactly one of the three.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    session_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
}

/// Nothing but `status_code` and `request_id`.
#[derive(Serialize, ToSchema)]
pub struct EmptyResponse {}

/// End a session, named by its id, its token or a JWT of it.
#[utoipa::path(post, path = "/v1/sessions/revoke", tag = "sessions",
    operation_id = "sessions.revoke", request_body = RevokeRequest,
    responses((status = 200, description = "The session has ended.", body = Envelope<EmptyResponse>)))]
async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let given_count = [
        &request.session_id,
        &request.session_token,
        &request.session_jwt,
    ]
    .iter()
    .filter(|value| value.as_deref().is_some_and(|text| !text.is_empty()))
    .count();
    if given_count == 0 {
        return Err(ApiError::new(
            ErrorType::NoSessionRevokeArguments,
            "Include one of session_id, session_token or session_jwt.",
        ));
    }
    if given_count > 1 {
        return Err(ApiError::new(
            ErrorType::TooManySessionRevokeArguments,
            "Include only one of session_id, session_token or session_jwt.",
        ));
    }
    let session_id = match given(request.session_id) {
        Some(id) => SessionId::parse(&id).map_err(|_| {
            ApiError::new(ErrorType::InvalidSessionId, "session_id format is invalid.")
        })?,
        None => {
            let named =
                SessionRequest::parse(request.session_token, request.session_jwt, None, None)?;
            presented_session(&state, project_id, named.presented(), now)
                .await?
                .ok_or_else(session_not_found)?
                .session
                .session_id
        }
    };
    state.store.revoke_session(project_id, &session_id).await?;
    Ok(reply(&auth.request_id, StatusCode::OK, EmptyResponse {}))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The user whose active sessions to list (or the external id the app set).
    user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListSessionsResponse {
    sessions: Vec<SessionObject>,
}

/// A user's active sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", operation_id = "sessions.get",
    params(ListQuery),
    responses((status = 200, description = "The user's active sessions.",
               body = Envelope<ListSessionsResponse>)))]
async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let user_ref = UserRef::parse(query.user_id.as_deref().unwrap_or_default())?;
    let user = find_user(&state, project_id, &user_ref).await?;
    let sessions = state
        .store
        .list_sessions(project_id, &UserRef::Id(user.user_id.clone()), now)
        .await?;
    let body = ListSessionsResponse {
        sessions: sessions
            .iter()
            .map(|session| session.to_object(&user.roles))
            .collect(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Serialize, ToSchema)]
pub struct JwksResponse {
    /// RSA public keys (RFC 7517), newest first: `kty`, `use`, `key_ops`, `alg`, `kid`, `x5c`,
    /// `x5tS256`, `n`, `e`.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<Value>,
}

/// The project's public signing keys. Public, like Stytch's: JWT libraries fetch it without
/// credentials.
#[utoipa::path(get, path = "/v1/sessions/jwks/{project_id}", tag = "sessions",
    operation_id = "sessions.get_jwks", security(()),
    params(("project_id" = String, Path, description = "The project's id.")),
    responses((status = 200, description = "The keys that sign the project's session JWTs.",
               body = Envelope<JwksResponse>)))]
async fn jwks(
    State(state): State<AppState>,
    request_id: crate::request_id::CurrentRequestId,
    Path(project_id): Path<String>,
) -> Result<Response, ApiError> {
    jwks_reply(&state, &request_id, &project_id).await
}

/// The JWKS of the project `project_id` names (consumer and B2B routes serve the same keys).
pub async fn jwks_reply(
    state: &AppState,
    request_id: &crate::request_id::CurrentRequestId,
    project_id: &str,
) -> Result<Response, ApiError> {
    let project_id =
        ProjectId::parse(project_id).map_err(|_| StoreError::NotFound(Missing::Project))?;
    let keys = state.store.signing_keys(&project_id).await?;
    if keys.is_empty() {
        return Err(StoreError::NotFound(Missing::Project).into());
    }
    let body = JwksResponse {
        keys: keys.iter().map(jwt::SigningKey::jwk).collect(),
    };
    Ok(reply(&request_id.0, StatusCode::OK, body))
}

/// The fields every authenticate-style response shares.
#[derive(Serialize, ToSchema)]
pub struct AuthenticatedResponse {
    pub user_id: String,
    /// `""` when no session was started.
    pub session_token: String,
    /// `""` when no session was started.
    pub session_jwt: String,
    pub session: Option<SessionObject>,
    pub user: UserObject,
}

/// [`AuthenticatedResponse`] of `user` and its session.
pub async fn authenticated_body(
    state: &AppState,
    project_id: &ProjectId,
    user: &User,
    session: Option<&Session>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<AuthenticatedResponse, ApiError> {
    let (session_token, session_jwt, session) =
        session_fields(state, project_id, session, token, &user.roles, now).await?;
    Ok(AuthenticatedResponse {
        user_id: user.user_id.as_str().to_owned(),
        session_token,
        session_jwt,
        session,
        user: UserObject::new(user, now),
    })
}
