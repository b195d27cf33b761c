//! `/v1/users`: create, get, search, update, delete, the per-factor deletes and the exchange of
//! the primary factor.

use latchkey_core::ids::ProjectId;
use latchkey_core::users::{User, UserRef};
use latchkey_core::values::{parse_metadata, Name, NamePatch};
use latchkey_store::{Missing, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::AppState;

mod create;
mod delete;
mod error;
mod read;
mod update;

pub use error::UserError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create))
        .routes(routes!(read::search))
        .routes(routes!(read::get, update::update, delete::delete_user))
        .routes(routes!(update::exchange_primary_factor))
        .routes(routes!(update::delete_external_id))
        .routes(routes!(delete::delete_email))
        .routes(routes!(delete::delete_phone_number))
        .routes(routes!(delete::delete_webauthn_registration))
        .routes(routes!(delete::delete_biometric_registration))
        .routes(routes!(delete::delete_totp))
        .routes(routes!(delete::delete_crypto_wallet))
        .routes(routes!(delete::delete_password))
        .routes(routes!(delete::delete_oauth_registration))
}

/// `name` as Stytch's clients send it: each part optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct NameRequest {
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
}

impl NameRequest {
    pub(crate) fn parse(self) -> Result<NamePatch, ApiError> {
        Ok(NamePatch::parse(
            self.first_name,
            self.middle_name,
            self.last_name,
        )?)
    }
}

/// The name of a user being created: the parts given, the others empty.
pub(crate) fn new_name(request: Option<NameRequest>) -> Result<Name, ApiError> {
    let mut name = Name::default();
    if let Some(patch) = request {
        patch.parse()?.apply(&mut name);
    }
    Ok(name)
}

/// Metadata of a user being created: absent or `null` is empty.
pub(crate) fn new_metadata(
    field: &str,
    value: Option<Value>,
) -> Result<Map<String, Value>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(value) => Ok(parse_metadata(field, value)?),
    }
}

/// The user a request names, or `user_not_found`.
pub(crate) async fn find_user(
    state: &AppState,
    project_id: &ProjectId,
    user: &UserRef,
) -> Result<User, ApiError> {
    Ok(state
        .store
        .get_user(project_id, user)
        .await?
        .ok_or(StoreError::NotFound(Missing::User))?)
}

/// Stytch's clients send absent strings as missing or empty: both mean "not given".
pub(crate) fn given(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}
