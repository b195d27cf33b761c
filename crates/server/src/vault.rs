//! Checks at start-up that the configured secrets key is the one this database's secrets were
//! sealed with, so a wrong key stops the server instead of failing each TOTP login.

use latchkey_core::vault::Vault;
use latchkey_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "the secrets key does not match this database: its TOTP secrets were sealed with another \
         key. Configure the key this database was first served with"
    )]
    WrongKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Accepts `vault` if the database has no check value yet (writing one) or if its check value
/// opens with this key.
pub async fn check_key(store: &dyn Store, vault: &Vault) -> Result<(), KeyCheckError> {
    let stored = match store.vault_check().await? {
        Some(stored) => stored,
        // Two replicas starting at once both try; the first one's value is kept.
        None => store.init_vault_check(vault.check_value()).await?,
    };
    if vault.accepts_check_value(&stored) {
        Ok(())
    } else {
        Err(KeyCheckError::WrongKey)
    }
}
