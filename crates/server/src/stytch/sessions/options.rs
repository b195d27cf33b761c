//! The session part of every authenticate: parse the options, find the presented session, plan, sign and answer.

use super::*;

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
pub struct Presented<S = Session> {
    pub session: S,
    pub token: String,
}

/// A kind of session a request can name by its token or by a JWT: a consumer [`Session`] or a
/// B2B [`MemberSession`].
pub trait Presentable: Sized {
    /// The keys that sign this kind's JWTs; a JWT of the other kind does not verify.
    const KEYS: KeyKind;

    fn by_token(
        state: &AppState,
        project_id: &ProjectId,
        digest: &SecretDigest,
    ) -> impl std::future::Future<Output = Result<Option<Self>, StoreError>> + Send;

    /// The session of this kind `id` names; `None` for an id of another kind.
    fn by_id(
        state: &AppState,
        project_id: &ProjectId,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<Self>, StoreError>> + Send;

    fn is_active(&self, now: DateTime<Utc>) -> bool;
}

impl Presentable for Session {
    const KEYS: KeyKind = KeyKind::Consumer;

    async fn by_token(
        state: &AppState,
        project_id: &ProjectId,
        digest: &SecretDigest,
    ) -> Result<Option<Session>, StoreError> {
        state.store.session_by_token(project_id, digest).await
    }

    async fn by_id(
        state: &AppState,
        project_id: &ProjectId,
        id: &str,
    ) -> Result<Option<Session>, StoreError> {
        match SessionId::parse(id) {
            Ok(id) => state.store.session_by_id(project_id, &id).await,
            Err(_) => Ok(None),
        }
    }

    fn is_active(&self, now: DateTime<Utc>) -> bool {
        Session::is_active(self, now)
    }
}

impl Presentable for MemberSession {
    const KEYS: KeyKind = KeyKind::B2b;

    async fn by_token(
        state: &AppState,
        project_id: &ProjectId,
        digest: &SecretDigest,
    ) -> Result<Option<MemberSession>, StoreError> {
        state
            .store
            .member_session_by_token(project_id, digest)
            .await
    }

    async fn by_id(
        state: &AppState,
        project_id: &ProjectId,
        id: &str,
    ) -> Result<Option<MemberSession>, StoreError> {
        match MemberSessionId::parse(id) {
            Ok(id) => state.store.member_session_by_id(project_id, &id).await,
            Err(_) => Ok(None),
        }
    }

    fn is_active(&self, now: DateTime<Utc>) -> bool {
        MemberSession::is_active(self, now)
    }
}

/// Finds the active session of kind `S` a token or a JWT names; `None` when neither is given.
/// A session that is gone, expired, or of the other kind is not found.
pub async fn presented<S: Presentable>(
    state: &AppState,
    project_id: &ProjectId,
    named: Option<&SessionRef>,
    now: DateTime<Utc>,
) -> Result<Option<Presented<S>>, ApiError> {
    let (session, token) = match named {
        None => return Ok(None),
        Some(SessionRef::Token(token)) => {
            let session = S::by_token(state, project_id, &SecretDigest::of(token)).await?;
            (session, token.clone())
        }
        Some(SessionRef::Jwt(jwt)) => {
            let id = jwt_session_id(state, project_id, S::KEYS, jwt)
                .await?
                .ok_or(SessionError::NotFound)?;
            (S::by_id(state, project_id, &id).await?, String::new())
        }
    };
    match session {
        Some(session) if session.is_active(now) => Ok(Some(Presented { session, token })),
        _ => Err(SessionError::NotFound.into()),
    }
}

/// The active session a request must name by `session_token` or `session_jwt`.
pub async fn required_session(
    state: &AppState,
    project_id: &ProjectId,
    request: &SessionRequest,
    now: DateTime<Utc>,
) -> Result<Presented, ApiError> {
    presented(state, project_id, request.presented(), now)
        .await?
        .ok_or_else(|| SessionError::NoArguments.into())
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
        .map_err(SessionError::from)?;
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
        // Only a member's plan is stopped short for MFA.
        SessionPlan::Intermediate { .. } => {
            tracing::error!("a consumer authentication planned an intermediate session");
            return Err(ApiError::internal());
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
        KeyKind::Consumer,
        &session.jwt_claims(project_id, roles, now),
    )
    .await?;
    Ok((token.to_owned(), jwt, Some(session.to_object(roles))))
}

/// The project's signing keys of `kind` in its key set now, newest first but for the key that
/// signs, which comes first: retired keys stay until their JWTs have expired
/// (`jwt::RETIRED_KEY_PUBLISHED_SECONDS`). A project's first key of a kind, and a new one once
/// every key of the kind is retired, is made when first needed, sealed with the vault.
pub async fn keys_of(
    state: &AppState,
    project_id: &ProjectId,
    kind: KeyKind,
) -> Result<Vec<SigningKey>, ApiError> {
    let now = Utc::now();
    let mut keys: Vec<SigningKey> = state
        .store
        .signing_keys(project_id)
        .await?
        .into_iter()
        .filter(|key| key.kind == kind && key.published(now))
        .collect();
    if let Some(signing) = keys.iter().position(|key| key.signs()) {
        keys[..=signing].rotate_right(1);
        return Ok(keys);
    }
    if state.store.get_project(project_id).await?.is_none() {
        return Ok(keys);
    }
    let vault = state.vault.clone();
    let owner = project_id.clone();
    let generated =
        tokio::task::spawn_blocking(move || SigningKey::generate(&vault, &owner, kind, now)).await;
    let key = match generated {
        Ok(Ok(key)) => key,
        Ok(Err(error)) => {
            tracing::error!(%error, "generating a signing key failed");
            return Err(ApiError::internal());
        }
        Err(error) => {
            tracing::error!(%error, "the key generation task failed");
            return Err(ApiError::internal());
        }
    };
    state.store.add_signing_key(project_id, &key).await?;
    keys.insert(0, key);
    Ok(keys)
}

/// Signs `claims` with the project's current key of `kind`.
pub async fn sign(
    state: &AppState,
    project_id: &ProjectId,
    kind: KeyKind,
    claims: &Value,
) -> Result<String, ApiError> {
    let keys = keys_of(state, project_id, kind).await?;
    let key = keys.first().filter(|key| key.signs()).ok_or_else(|| {
        tracing::error!(project_id = %project_id, "project has no signing key");
        ApiError::internal()
    })?;
    key.sign(&state.vault, claims).map_err(|error| {
        tracing::error!(%error, kid = %key.kid, "signing a session JWT failed");
        ApiError::internal()
    })
}

/// The session id a JWT signed by one of the project's keys of `kind` carries: a JWT of the
/// other kind does not verify. An expired JWT still names its session, whose own state then
/// decides (as with Stytch).
pub async fn jwt_session_id(
    state: &AppState,
    project_id: &ProjectId,
    kind: KeyKind,
    jwt: &str,
) -> Result<Option<String>, ApiError> {
    let keys = keys_of(state, project_id, kind).await?;
    let (claims, _expired) = jwt::verify(jwt, &keys, project_id)
        .map_err(|JwtProblem::Invalid| SessionError::UnparsableJwt)?;
    Ok(claims[SESSION_CLAIM]["id"].as_str().map(str::to_owned))
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
