//! The secrets key and the database: the check at start-up that the configured key is the one
//! this database's secrets were sealed with (so a wrong key stops the server instead of failing
//! each TOTP login), and the re-seal pass that moves every sealed value to a new key during a
//! rotation (`docs/security.md`, "Secrets key rotation").

use latchkey_core::ids::ProjectId;
use latchkey_core::vault::{Resealed, Vault};
use latchkey_store::{Store, StoreError, TotpOwner};

use crate::stytch::totps::{lost_codes, resealed_totp};

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

/// What a re-seal pass did: the values it moved to the vault's current key (or, for signing
/// keys stored before sealing, sealed for the first time), and the registrations whose recovery
/// codes no sealed list could digest anew.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ResealReport {
    pub signing_keys: u64,
    pub totps: u64,
    pub member_totps: u64,
    pub check_value: bool,
    pub unmovable_recovery_codes: u64,
    /// Outbox messages sealed anew.
    pub messages: u64,
    /// Outbox messages that open with no configured key (they can no longer be sent).
    pub unopenable_messages: u64,
}

impl std::ops::AddAssign for ResealReport {
    fn add_assign(&mut self, other: ResealReport) {
        self.signing_keys += other.signing_keys;
        self.totps += other.totps;
        self.member_totps += other.member_totps;
        self.check_value |= other.check_value;
        self.unmovable_recovery_codes += other.unmovable_recovery_codes;
        self.messages += other.messages;
        self.unopenable_messages += other.unopenable_messages;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("project {project_id}: {what} {id} does not open with any configured secrets key")]
    CannotOpen {
        project_id: ProjectId,
        what: &'static str,
        id: String,
    },
    #[error("the database's check value does not open with any configured secrets key")]
    WrongKey,
    #[error(
        "project {0}: TOTP registrations kept changing while they were re-sealed; run the pass again"
    )]
    KeptChanging(ProjectId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registrations read at a time.
const RESEAL_BATCH: u32 = 200;
/// Passes over a project's registrations before giving up on ones that logins keep changing.
const RESEAL_ROUNDS: usize = 5;

/// Which signing keys a pass seals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysToSeal {
    /// Those stored before keys were sealed.
    Plaintext,
    /// Those too that an old key of a rotation sealed.
    NotCurrent,
}

/// Seals the signing keys of `project_id` that `which` names.
pub async fn reseal_signing_keys(
    store: &dyn Store,
    vault: &Vault,
    project_id: &ProjectId,
    which: KeysToSeal,
) -> Result<u64, ResealError> {
    let mut moved = 0;
    for key in store.signing_keys(project_id).await? {
        if which == KeysToSeal::Plaintext && !key.is_plaintext() {
            continue;
        }
        let sealed = key.resealed(vault).map_err(|_| ResealError::CannotOpen {
            project_id: project_id.clone(),
            what: "signing key",
            id: key.kid.to_string(),
        })?;
        if let Some(sealed) = sealed {
            // A key's private half is written once and changed only here: a lost race means
            // another pass sealed it.
            if store
                .reseal_signing_key(project_id, &key.kid, &key.private_key, sealed)
                .await?
            {
                moved += 1;
            }
        }
    }
    Ok(moved)
}

/// Seals the plaintext signing keys of every project: `latchkey serve` runs it at start, so
/// keys stored before sealing are sealed before anything signs with them. Keys sealed with an
/// old key are left to `latchkey secrets reseal`.
pub async fn seal_signing_keys(store: &dyn Store, vault: &Vault) -> Result<u64, ResealError> {
    let mut sealed = 0;
    for project in store.list_projects().await? {
        sealed +=
            reseal_signing_keys(store, vault, &project.project_id, KeysToSeal::Plaintext).await?;
    }
    Ok(sealed)
}

/// Moves every sealed value of `project_id` to the vault's current key: signing keys, and the
/// TOTP registrations of users and members (secret, recovery-code list and digests). Each row
/// is replaced only if unchanged since it was read (a login may use a code meanwhile); the
/// pass goes over the registrations again until none changed under it.
pub async fn reseal_project(
    store: &dyn Store,
    vault: &Vault,
    project_id: &ProjectId,
) -> Result<ResealReport, ResealError> {
    let mut report = ResealReport {
        signing_keys: reseal_signing_keys(store, vault, project_id, KeysToSeal::NotCurrent).await?,
        ..ResealReport::default()
    };
    for owner in [TotpOwner::User, TotpOwner::Member] {
        let mut settled = false;
        for round in 0..RESEAL_ROUNDS {
            let mut raced = false;
            let mut after: Option<String> = None;
            loop {
                let batch = store
                    .sealed_totps(owner, project_id, after.as_deref(), RESEAL_BATCH)
                    .await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.totp_id.clone());
                for registration in &batch {
                    if round == 0 && lost_codes(vault, registration) {
                        report.unmovable_recovery_codes += 1;
                    }
                    let resealed =
                        resealed_totp(vault, project_id, registration).map_err(|_| {
                            ResealError::CannotOpen {
                                project_id: project_id.clone(),
                                what: "TOTP registration",
                                id: registration.totp_id.clone(),
                            }
                        })?;
                    let Some(new) = resealed else { continue };
                    if !store
                        .reseal_totp(owner, project_id, registration, &new)
                        .await?
                    {
                        raced = true;
                        continue;
                    }
                    match owner {
                        TotpOwner::User => report.totps += 1,
                        TotpOwner::Member => report.member_totps += 1,
                    }
                }
            }
            if !raced {
                settled = true;
                break;
            }
        }
        if !settled {
            return Err(ResealError::KeptChanging(project_id.clone()));
        }
    }
    // Queued and kept messages: short-lived, so one that no key opens is counted, not fatal
    // (the worker fails it); one delivered or replaced meanwhile is simply left.
    for (message_id, sealed) in store.sealed_messages(project_id).await? {
        let context =
            latchkey_core::delivery::MessageContent::context(project_id.as_str(), &message_id);
        match vault.reseal(&context, &sealed) {
            Ok(Resealed::Current) => {}
            Ok(Resealed::Moved(new)) => {
                if store
                    .reseal_message(project_id, &message_id, &sealed, new)
                    .await?
                {
                    report.messages += 1;
                }
            }
            Err(_) => report.unopenable_messages += 1,
        }
    }
    Ok(report)
}

/// The whole pass, for `latchkey secrets reseal`: every project, then the check value. Once it
/// has finished, every sealed value opens with the current key alone and the old keys can be
/// dropped from the configuration.
pub async fn reseal_all(store: &dyn Store, vault: &Vault) -> Result<ResealReport, ResealError> {
    let mut report = ResealReport::default();
    for project in store.list_projects().await? {
        report += reseal_project(store, vault, &project.project_id).await?;
    }
    if let Some(check) = store.vault_check().await? {
        let resealed = vault
            .reseal_check_value(&check)
            .map_err(|_| ResealError::WrongKey)?;
        if let Resealed::Moved(new) = resealed {
            report.check_value = store.reseal_vault_check(&check, new).await?;
        }
    }
    Ok(report)
}
