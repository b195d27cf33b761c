//! `GET /v1/sessions/jwks/{project_id}`: the project's public signing keys.

use super::*;

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
pub(super) async fn jwks(
    State(state): State<AppState>,
    request_id: crate::request_id::CurrentRequestId,
    Path(project_id): Path<String>,
) -> Result<Response, ApiError> {
    jwks_reply(&state, &request_id, &project_id, KeyKind::Consumer).await
}

/// The JWKS of `kind` of the project `project_id` names: the consumer route publishes the
/// consumer keys, the B2B route the B2B keys.
pub async fn jwks_reply(
    state: &AppState,
    request_id: &crate::request_id::CurrentRequestId,
    project_id: &str,
    kind: KeyKind,
) -> Result<Response, ApiError> {
    let project_id =
        ProjectId::parse(project_id).map_err(|_| StoreError::NotFound(Missing::Project))?;
    let keys = keys_of(state, &project_id, kind).await?;
    if keys.is_empty() {
        return Err(StoreError::NotFound(Missing::Project).into());
    }
    let body = JwksResponse {
        keys: keys.iter().map(jwt::SigningKey::jwk).collect(),
    };
    Ok(reply(&request_id.0, StatusCode::OK, body))
}
