//! Consumer TOTP: create (secret, QR code, recovery codes), authenticate, list recovery codes,
//! recover. Deletion goes through `DELETE /v1/users/totps/{totp_id}`.
//!
//! Secrets are sealed by the vault before they reach the store and opened only to check a code;
//! recovery codes are shown once, at creation, and kept as keyed digests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{ProjectId, TotpId, UserId};
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::{AuthenticationFactor, SessionRequest};
use latchkey_core::totps::{self, TotpSecret};
use latchkey_core::users::UserRef;
use latchkey_core::vault::{Resealed, Vault, VaultError};
use latchkey_store::{
    CodeDigest, Consume, Missing, NewTotp, PasswordWrite, StoreError, StoredTotp,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::{AuthenticatedResponse, SessionOptions};
use super::users::{find_user, given};
use crate::authentication::{self, Principal, Proof};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

mod authenticate;
mod create;
mod error;
mod recover;
mod recovery_codes;

use authenticate::use_up;
pub use authenticate::{
    accept_code, accept_recovery_code, current_totp, TotpAuthenticatedResponse,
};
pub use error::TotpError;
use latchkey_core::lock::Factor;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create))
        .routes(routes!(authenticate::authenticate))
        .routes(routes!(recovery_codes::recovery_codes))
        .routes(routes!(recover::recover))
}

/// `expiration_minutes` of an unverified registration: 5 to 1440, default 1440 (Stytch's).
const DEFAULT_EXPIRATION_MINUTES: i64 = 1440;
const MIN_EXPIRATION_MINUTES: i64 = 5;

/// Where a TOTP secret is sealed: its registration in its project. Sealed values do not open
/// anywhere else.
pub fn seal_context(project_id: &ProjectId, totp_id: &str) -> String {
    format!("totp-secret:{project_id}:{totp_id}")
}

/// Opens a stored secret. Failing to open means the database and the key disagree: an
/// operator's problem, logged, and a 500 to the caller.
pub fn open_secret(
    vault: &Vault,
    project_id: &ProjectId,
    totp: &StoredTotp,
) -> Result<TotpSecret, ApiError> {
    vault
        .open(
            &seal_context(project_id, &totp.totp_id),
            &totp.secret_sealed,
        )
        .map(TotpSecret::from_bytes)
        .map_err(|error| {
            tracing::error!(totp_id = %totp.totp_id, %error, "a TOTP secret did not open");
            ApiError::internal()
        })
}

/// The digest among `stored` that `code` has under a key the vault accepts (its current key,
/// or an old one during a rotation), comparing each in constant time.
pub fn matching_digest(
    vault: &Vault,
    stored: &[CodeDigest],
    totp_id: &str,
    code: &str,
) -> Option<CodeDigest> {
    let candidates = vault.code_digests(totp_id, &totps::normalize_recovery_code(code));
    stored.iter().fold(None, |found, digest| {
        let matched = candidates.iter().fold(false, |any, candidate| {
            any | bool::from(digest.ct_eq(candidate))
        });
        if matched {
            Some(*digest)
        } else {
            found
        }
    })
}

/// The stored form of a recovery code of registration `totp_id`.
pub fn code_digest(vault: &Vault, totp_id: &str, code: &str) -> CodeDigest {
    vault.code_digest(totp_id, &totps::normalize_recovery_code(code))
}

/// Where a registration's recovery codes are sealed; they open nowhere else.
fn codes_context(project_id: &ProjectId, totp_id: &str) -> String {
    format!("totp-recovery-codes:{project_id}:{totp_id}")
}

/// The stored forms of `codes` for registration `totp_id`: their digests, which a login checks
/// and uses up in constant time, and the list sealed, one code a line (codes are visible ASCII,
/// `totps::parse_recovery_codes`), to show them again as Stytch does.
pub fn stored_codes(
    vault: &Vault,
    project_id: &ProjectId,
    totp_id: &str,
    codes: &[String],
) -> (Vec<CodeDigest>, Vec<u8>) {
    let digests = codes
        .iter()
        .map(|code| code_digest(vault, totp_id, code))
        .collect();
    let sealed = vault.seal(
        &codes_context(project_id, totp_id),
        codes.join("\n").as_bytes(),
    );
    (digests, sealed)
}

/// The recovery codes of `registration` not yet used, opened from their sealed list; none for a
/// registration written before codes were sealed. A list that does not open means the
/// database and the key disagree: logged, and a 500.
pub fn unused_codes(
    vault: &Vault,
    project_id: &ProjectId,
    registration: &StoredTotp,
) -> Result<Vec<String>, ApiError> {
    let Some(sealed) = &registration.recovery_codes_sealed else {
        return Ok(Vec::new());
    };
    let opened = vault
        .open(&codes_context(project_id, &registration.totp_id), sealed)
        .map_err(|error| error.to_string())
        .and_then(|list| String::from_utf8(list).map_err(|error| error.to_string()));
    let codes = opened.map_err(|error| {
        tracing::error!(totp_id = %registration.totp_id, %error, "recovery codes did not open");
        ApiError::internal()
    })?;
    Ok(codes
        .lines()
        .map(str::to_owned)
        .filter(|code| {
            matching_digest(
                vault,
                &registration.recovery_codes,
                &registration.totp_id,
                code,
            )
            .is_some()
        })
        .collect())
}

/// `registration` with its secret and code list sealed with the vault's current key and its
/// unused codes digested with it, if an old key sealed or digested any of them; `None` when
/// nothing is to be written. Digests of a registration from before code lists were sealed
/// cannot be made anew (its codes are known nowhere): they are kept, and stop matching once
/// the old key is dropped (`lost_codes`).
pub fn resealed_totp(
    vault: &Vault,
    project_id: &ProjectId,
    registration: &StoredTotp,
) -> Result<Option<StoredTotp>, VaultError> {
    let id = &registration.totp_id;
    let mut new = registration.clone();
    let mut changed = false;
    if let Resealed::Moved(sealed) =
        vault.reseal(&seal_context(project_id, id), &registration.secret_sealed)?
    {
        new.secret_sealed = sealed;
        changed = true;
    }
    if let Some(list) = &registration.recovery_codes_sealed {
        let context = codes_context(project_id, id);
        let opened = vault.open(&context, list)?;
        let codes = String::from_utf8_lossy(&opened);
        // Each unused code's digest under every accepted key, once: it is unused if any of them
        // is stored, and its new digest is the current key's (the first).
        let digests: Vec<CodeDigest> = codes
            .lines()
            .filter_map(|code| {
                let candidates = vault.code_digests(id, &totps::normalize_recovery_code(code));
                let unused = registration
                    .recovery_codes
                    .iter()
                    .any(|stored| candidates.iter().any(|c| bool::from(stored.ct_eq(c))));
                unused.then(|| candidates.first().copied()).flatten()
            })
            .collect();
        if digests != registration.recovery_codes {
            new.recovery_codes = digests;
            changed = true;
        }
        if let Resealed::Moved(sealed) = vault.reseal(&context, list)? {
            new.recovery_codes_sealed = Some(sealed);
            changed = true;
        }
    }
    Ok(changed.then_some(new))
}

/// Whether `registration`'s recovery codes are digests that only an old key made and no sealed
/// list can make anew: they stop working when that key is dropped.
pub fn lost_codes(vault: &Vault, registration: &StoredTotp) -> bool {
    registration.recovery_codes_sealed.is_none()
        && vault.has_old_keys()
        && !registration.recovery_codes.is_empty()
}

/// The secret, and the QR code of its `otpauth://` URI labelled with `issuer` and `account`.
pub fn secret_and_qr_code(
    secret: &TotpSecret,
    issuer: &str,
    account: &str,
) -> Result<(String, String), ApiError> {
    let qr_code = totps::qr_code_data_url(&secret.otpauth_uri(issuer, account)).map_err(|_| {
        tracing::error!("drawing a TOTP QR code failed");
        ApiError::internal()
    })?;
    Ok((secret.to_base32(), qr_code))
}

/// How long an unverified registration may wait for its first code.
pub fn expiration_minutes(minutes: Option<i64>) -> Result<i64, ApiError> {
    let minutes = minutes.unwrap_or(DEFAULT_EXPIRATION_MINUTES);
    if !(MIN_EXPIRATION_MINUTES..=DEFAULT_EXPIRATION_MINUTES).contains(&minutes) {
        return Err(TotpError::InvalidExpiration.into());
    }
    Ok(minutes)
}

/// A `totp_code` that cannot be a code at all.
pub fn check_code_shape(code: &str) -> Result<(), ApiError> {
    if totps::is_code_shaped(code) {
        return Ok(());
    }
    Err(TotpError::NotACode.into())
}

fn required_user(user_id: Option<String>) -> Result<UserRef, ApiError> {
    let user_id = given(user_id).ok_or_else(|| ApiError::bad_request("user_id is required."))?;
    Ok(UserRef::parse(&user_id)?)
}
