//! The embedded engine: one SQLite file in WAL mode with foreign keys on and a busy timeout.
//!
//! Writes go through a pool of exactly one connection, so write transactions queue in process
//! instead of failing with `SQLITE_BUSY` on lock upgrades; reads use a separate pool and, under
//! WAL, never wait for the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

type Db = sqlx::Sqlite;
type Engine = SqliteStore;
/// One writer connection on SQLite; PostgreSQL runs concurrent write transactions well.
const WRITE_LANES: usize = 1;
/// The single writer connection already excludes other writers.
const FOR_UPDATE: &str = "";
/// How a worker's claim skips rows another worker holds (SQLite's one writer already
/// serialises claims).
const SKIP_LOCKED: &str = "";
/// How a transaction takes a lock on a name until it ends (SQLite's one writer already
/// holds every lock): the send limits count a destination's messages under it.
const NAME_LOCK: &str = "";
/// SQLite's unary `+` keeps a term off the indexes, so the planner starts elsewhere.
const SELECTIVE_PROJECT_COLUMN: &str = "+u.project_id";

#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    projects: crate::project_cache::ProjectCache,
    signing_keys: crate::project_cache::ProjectCache<Vec<latchkey_core::jwt::SigningKey>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite:path` or a bare
    /// path) and applies migrations.
    pub async fn connect(url: &str) -> Result<SqliteStore, crate::StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL under WAL loses no committed transaction when the process dies; only a
            // power loss can lose the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        create_private(options.get_filename())?;
        // A SQLite connection is a file handle in this process: it cannot go stale the way a
        // network connection can, so pinging it before every use would only add a round trip.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() as u32 * 2)
            .unwrap_or(4)
            .max(4);
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore {
            read,
            write,
            projects: Default::default(),
            signing_keys: Default::default(),
        })
    }

    /// The connection pools and their use.
    fn pools(&self) -> Vec<crate::PoolStats> {
        [("write", &self.write), ("read", &self.read)]
            .into_iter()
            .map(|(name, pool)| crate::PoolStats {
                name,
                connections: pool.size(),
                idle: pool.num_idle(),
                max: pool.options().get_max_connections(),
            })
            .collect()
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn writer(&self) -> &SqlitePool {
        &self.write
    }
}

/// Creates a missing database file readable and writable by its owner only (0600): it holds
/// every user's data and the projects' signing keys. SQLite gives the `-wal` and `-shm` files it
/// makes beside it the same mode. An existing file keeps the mode its operator gave it.
fn create_private(path: &std::path::Path) -> Result<(), crate::StoreError> {
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Made meanwhile by another process: its mode stands.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(crate::StoreError::Database(sqlx::Error::Io(error))),
    }
}

// The same SQL as the other engine, compiled against this one's `Db` and `Engine`.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

#[cfg(test)]
mod tests {
    use super::sql::{migrate_new_users, push_search_conditions, read_user_sql};
    use super::*;
    use crate::*;
    use chrono::Utc;
    use latchkey_core::ids::Environment;
    use latchkey_core::ids::ProjectId;
    use latchkey_core::passwords::hash_password;
    use latchkey_core::passwords::Argon2Settings;
    use latchkey_core::search::{Filter, Operator, SearchQuery};
    use latchkey_core::secret::Secret;
    use latchkey_core::users::{NewUser, UserRef};
    use latchkey_core::values::Email;
    use sqlx::{QueryBuilder, Row};

    fn item(email: &str) -> MigratePassword {
        let cheap = Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let email = Email::parse(email).unwrap();
        MigratePassword {
            email: email.clone(),
            hash: hash_password("pw", &cheap).unwrap(),
            new_user: NewUser {
                email: Some(email),
                ..NewUser::default()
            },
        }
    }

    /// A new database, and the write-ahead log SQLite makes beside it, are the owner's alone.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("latchkey-store-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.ping().await.unwrap();
        for file in [path.clone(), path.with_extension("db-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }

    /// The batch path really is taken for a clean batch (the HTTP suite checks the answers, which
    /// the one-at-a-time path would give too), and declines a batch naming an existing email.
    #[tokio::test]
    async fn a_clean_batch_is_written_at_once_and_an_existing_email_declines_it() {
        let path = std::env::temp_dir().join(format!("latchkey-store-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let now = Utc::now();
        let project = ProjectRecord {
            project_id: ProjectId::generate(Environment::Test),
            name: "batch".to_owned(),
            environment: Environment::Test,
            secret_digest: Secret::generate("secret", Environment::Test).digest(),
            created_at: now,
            settings: ProjectSettings::default(),
            stack_keys: None,
        };
        store.create_project(&project).await.unwrap();
        let id = &project.project_id;

        let batch = vec![
            item("a@example.com"),
            item("b@example.com"),
            item("c@example.com"),
        ];
        let written = migrate_new_users(&store, id, &batch, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(written.len(), 3);
        for ((user, email_id, created), item) in written.iter().zip(&batch) {
            assert!(created);
            assert_eq!(&user.emails[0].email_id, email_id);
            let read = store
                .get_user(id, &UserRef::Id(user.user_id.clone()))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&read, user);
            assert_eq!(read.emails[0].email, item.email.as_str());
        }

        let taken = vec![item("d@example.com"), item("b@example.com")];
        assert!(migrate_new_users(&store, id, &taken, now)
            .await
            .unwrap()
            .is_none());
        let repeated = vec![item("e@example.com"), item("e@example.com")];
        assert!(migrate_new_users(&store, id, &repeated, now)
            .await
            .unwrap()
            .is_none());
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE project_id = ?")
            .bind(id.as_str())
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(users, 3, "a declined batch writes nothing");
        let _ = std::fs::remove_file(&path);
    }

    /// A search for one email starts from the email's unique index, not from a walk over the
    /// project's users (which SQLite chooses without statistics: seconds at 10^5 users).
    #[tokio::test]
    async fn an_email_search_starts_from_the_email_index() {
        let path = std::env::temp_dir().join(format!("latchkey-plan-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let search = SearchQuery {
            operator: Operator::And,
            operands: vec![Filter::EmailAddresses(vec!["ada@example.com".to_owned()])],
        };
        for head in [
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM users u",
            "EXPLAIN QUERY PLAN SELECT u.seq FROM users u",
        ] {
            let mut query = QueryBuilder::<Db>::new(head);
            push_search_conditions(&mut query, "project-test-plan", &search);
            query.push(" ORDER BY u.seq LIMIT 11");
            let rows = query.build().fetch_all(store.reader()).await.unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|row| row.get::<String, _>("detail"))
                .collect();
            assert!(
                plan.iter().any(|step| step.contains("(user_id=?)")),
                "{plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("users_project")),
                "{plan:?}"
            );
        }
        let _ = std::fs::remove_file(&path);
    }

    /// A user read (by id or by external id) looks every branch up by an index: no table of the
    /// project is walked, whatever its size.
    #[tokio::test]
    async fn a_user_read_searches_every_table_by_index() {
        let path = std::env::temp_dir().join(format!("latchkey-plan-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        for by_external_id in [false, true] {
            let rows = sqlx::query(&format!(
                "EXPLAIN QUERY PLAN {}",
                read_user_sql(by_external_id)
            ))
            .bind("project-test-plan")
            .bind("user-test-plan")
            .fetch_all(store.reader())
            .await
            .unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|row| row.get::<String, _>("detail"))
                .collect();
            let searches = plan
                .iter()
                .filter(|step| step.starts_with("SEARCH"))
                .count();
            // The user row, each of the nine child tables, and (by external id) the lookup of
            // the id that each child branch names.
            assert!(searches >= 10, "{plan:?}");
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN")),
                "{plan:?}"
            );
        }
        let _ = std::fs::remove_file(&path);
    }
}
