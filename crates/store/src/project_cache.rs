//! Per-project records kept in memory for a moment. Every API request authenticates its
//! project, and every response with a session signs a JWT with the project's key; on SQLite each
//! of those reads was one of the few statements a request costs. A project and its keys change
//! rarely (settings, Stack keys, a key rotation), so a record read less than [`PROJECT_TTL`] ago
//! serves again. A change made through this store is seen at once (the writer forgets the
//! record); one made by another process (the CLI, another replica) within [`PROJECT_TTL`]. Only
//! found projects are kept, so unknown ids cannot grow the cache.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use latchkey_core::ids::ProjectId;

use crate::ProjectRecord;

/// How long a project record read from the database is trusted.
pub const PROJECT_TTL: Duration = Duration::from_secs(1);

/// A project's record, or (as `ProjectCache<Vec<SigningKey>>`) its signing keys.
#[derive(Clone, Debug)]
pub(crate) struct ProjectCache<V = ProjectRecord> {
    entries: Arc<RwLock<HashMap<ProjectId, (Instant, V)>>>,
}

impl<V> Default for ProjectCache<V> {
    fn default() -> Self {
        ProjectCache {
            entries: Arc::default(),
        }
    }
}

impl<V: Clone> ProjectCache<V> {
    /// The record, if one was read less than [`PROJECT_TTL`] ago.
    pub(crate) fn get(&self, project_id: &ProjectId) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (read_at, record) = entries.get(project_id)?;
        (read_at.elapsed() < PROJECT_TTL).then(|| record.clone())
    }

    /// Remembers a record just read (at `read_at`, taken before the read began, so a write that
    /// lands during the read cannot be hidden for longer than the TTL).
    pub(crate) fn put(&self, read_at: Instant, project_id: &ProjectId, record: &V) {
        if let Ok(mut entries) = self.entries.write() {
            // Expired entries of projects no longer asked for go with the next insertion.
            entries.retain(|_, (at, _)| at.elapsed() < PROJECT_TTL);
            entries.insert(project_id.clone(), (read_at, record.clone()));
        }
    }

    /// Forgets a project this store has just changed.
    pub(crate) fn forget(&self, project_id: &ProjectId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(project_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_record_for_the_ttl_and_forgets_it_on_demand() {
        let cache: ProjectCache = ProjectCache::default();
        let project_id = ProjectId::generate(latchkey_core::Environment::Test);
        let record = ProjectRecord {
            project_id: project_id.clone(),
            name: "cached".to_owned(),
            environment: latchkey_core::Environment::Test,
            secret_digest: latchkey_core::secret::SecretDigest::from_bytes(&[7; 32]).unwrap(),
            created_at: chrono::Utc::now(),
            settings: crate::ProjectSettings::default(),
            stack_keys: None,
        };
        assert!(cache.get(&project_id).is_none());
        cache.put(Instant::now(), &project_id, &record);
        assert_eq!(
            cache.get(&project_id).map(|r| r.name),
            Some(record.name.clone())
        );
        cache.forget(&project_id);
        assert!(cache.get(&project_id).is_none());
        // A record read longer than the TTL ago is not served.
        let stale = Instant::now().checked_sub(PROJECT_TTL).unwrap();
        cache.put(stale, &project_id, &record);
        assert!(cache.get(&project_id).is_none());
    }
}
