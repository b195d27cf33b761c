//! `spawn_app`: a real server (the router under the server's own connection loop) on a free
//! port over a fresh store, and a client bound to a fresh project.

use std::sync::Arc;

use chrono::Utc;
use latchkey_core::ids::{Environment, ProjectId};
use latchkey_core::secret::Secret;
use latchkey_server::AppState;
use latchkey_store::{ProjectRecord, ProjectSettings, Store};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Engine)` as one test per engine.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::skip_postgres() {
                        return;
                    }
                    super::$name($crate::helpers::Engine::Postgres).await
                }
            )*
        }
    };
}

pub fn skip_postgres() -> bool {
    let skip = std::env::var("LATCHKEY_SKIP_POSTGRES").is_ok_and(|value| value == "1");
    if skip {
        eprintln!("LATCHKEY_SKIP_POSTGRES=1: PostgreSQL test skipped");
    }
    skip
}

pub fn postgres_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The argon2id cost the test servers write new hashes with.
pub const TEST_ARGON2: latchkey_core::passwords::Argon2Settings =
    latchkey_core::passwords::Argon2Settings {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

/// The secrets key of every test server (PostgreSQL tests share one database, whose vault
/// check value the first test server writes).
pub const TEST_VAULT_KEY: &str = "bGF0Y2hrZXktdGVzdC12YXVsdC1rZXktMzItYnl0ZXM=";

/// The vault of every test server.
pub fn test_vault() -> latchkey_core::vault::Vault {
    latchkey_core::vault::Vault::from_key_text(TEST_VAULT_KEY).unwrap()
}

/// A running server and a client authenticated as one project.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub project_id: ProjectId,
    pub secret: String,
    /// The project's Stack Auth keys.
    pub publishable_client_key: String,
    pub secret_server_key: String,
    /// The server's hashing pool, to see what became of its jobs.
    pub hashing: latchkey_server::HashPool,
    sqlite_path: Option<std::path::PathBuf>,
    /// Whether dropping it removes the SQLite files (a restarted server shares them).
    owns_files: bool,
}

/// A response: status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts a Stytch error of this status and type, in Stytch's shape.
    pub fn assert_error(&self, status: u16, error_type: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error_type"], error_type, "body: {}", self.body);
        assert_eq!(self.body["status_code"], status);
        assert!(self.body["request_id"]
            .as_str()
            .unwrap()
            .starts_with("request-id-"));
        assert!(!self.body["error_message"].as_str().unwrap().is_empty());
        assert!(self.body["error_url"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
    }

    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert_eq!(self.body["status_code"], 200);
        assert!(self.body["request_id"]
            .as_str()
            .unwrap()
            .starts_with("request-id-test-"));
        &self.body
    }
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, latchkey_server::operations::Limits::default()).await
}

/// A server with other limits (rate, timeout) than the defaults.
pub async fn spawn_app_with(
    engine: Engine,
    limits: latchkey_server::operations::Limits,
) -> TestApp {
    spawn_app_delivering(
        engine,
        limits,
        latchkey_server::delivery::Delivery::default(),
    )
    .await
}

/// A server that delivers messages through `delivery`'s providers (its worker is the test's to
/// run: [`latchkey_server::delivery::deliver_due`]).
pub async fn spawn_app_delivering(
    engine: Engine,
    limits: latchkey_server::operations::Limits,
    delivery: latchkey_server::delivery::Delivery,
) -> TestApp {
    let (store, sqlite_path): (Arc<dyn Store>, _) = match engine {
        Engine::Sqlite => {
            let path =
                std::env::temp_dir().join(format!("latchkey-test-{}.db", uuid::Uuid::new_v4()));
            let store =
                latchkey_store::SqliteStore::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("open SQLite");
            (Arc::new(store), Some(path))
        }
        Engine::Postgres => {
            let store = latchkey_store::PostgresStore::connect(&postgres_url())
                .await
                .expect(
                    "PostgreSQL must be reachable (set LATCHKEY_SKIP_POSTGRES=1 to skip locally)",
                );
            (Arc::new(store), None)
        }
    };
    let vault = test_vault();
    latchkey_server::vault::check_key(store.as_ref(), &vault)
        .await
        .unwrap();
    let (base_url, hashing) = serve_delivering(store.clone(), vault, limits, delivery).await;
    let project = create_project_with_stack_keys(store.as_ref()).await;
    TestApp {
        base_url,
        client: reqwest::Client::new(),
        store,
        project_id: project.project_id,
        secret: project.secret,
        publishable_client_key: project.publishable_client_key,
        secret_server_key: project.secret_server_key,
        hashing,
        sqlite_path,
        owns_files: true,
    }
}

/// Starts a server on `store` with `vault`: its base URL and its hashing pool.
async fn serve(
    store: Arc<dyn Store>,
    vault: latchkey_core::vault::Vault,
    limits: latchkey_server::operations::Limits,
) -> (String, latchkey_server::HashPool) {
    serve_delivering(store, vault, limits, Default::default()).await
}

async fn serve_delivering(
    store: Arc<dyn Store>,
    vault: latchkey_core::vault::Vault,
    limits: latchkey_server::operations::Limits,
    delivery: latchkey_server::delivery::Delivery,
) -> (String, latchkey_server::HashPool) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut state = AppState::new(store, vault)
        .with_limits(limits)
        .with_delivery(delivery);
    // Cheap argon2id so the suite stays fast; the defaults are covered by unit tests.
    state.argon2 = TEST_ARGON2;
    let hashing = state.hashing.clone();
    let app = latchkey_server::router(state);
    // The server's own connection loop, as `latchkey serve` runs it: the connection bound and
    // the slow-client deadlines are part of what is tested.
    tokio::spawn(latchkey_server::serve::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    (format!("http://{address}"), hashing)
}

pub async fn create_project(store: &dyn Store) -> (ProjectId, String) {
    let project = create_project_with_stack_keys(store).await;
    (project.project_id, project.secret)
}

/// A project and every credential it was issued.
pub struct IssuedProject {
    pub project_id: ProjectId,
    pub secret: String,
    pub publishable_client_key: String,
    pub secret_server_key: String,
}

pub async fn create_project_with_stack_keys(store: &dyn Store) -> IssuedProject {
    let secret = Secret::generate("secret", Environment::Test);
    let (stack_keys, secret_server_key) = latchkey_store::StackKeys::generate();
    let publishable_client_key = stack_keys.publishable_client_key.clone();
    let project = ProjectRecord {
        project_id: ProjectId::generate(Environment::Test),
        name: "test".to_owned(),
        environment: Environment::Test,
        secret_digest: secret.digest(),
        created_at: Utc::now(),
        settings: ProjectSettings::default(),
        stack_keys: Some(stack_keys),
    };
    store.create_project(&project).await.unwrap();
    IssuedProject {
        project_id: project.project_id,
        secret: secret.expose().to_owned(),
        publishable_client_key,
        secret_server_key: secret_server_key.expose().to_owned(),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = self.sqlite_path.as_ref().filter(|_| self.owns_files) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

impl TestApp {
    /// Another server on the same database and project, with `vault` as its secrets key (a
    /// restart after a key rotation). The database's check value is not looked at: on the
    /// shared PostgreSQL database it is the suite's.
    pub async fn restarted_with(&self, vault: latchkey_core::vault::Vault) -> TestApp {
        let limits = latchkey_server::operations::Limits::default();
        let (base_url, hashing) = serve(self.store.clone(), vault, limits).await;
        TestApp {
            base_url,
            client: reqwest::Client::new(),
            store: self.store.clone(),
            project_id: self.project_id.clone(),
            secret: self.secret.clone(),
            publishable_client_key: self.publishable_client_key.clone(),
            secret_server_key: self.secret_server_key.clone(),
            hashing,
            sqlite_path: self.sqlite_path.clone(),
            owns_files: false,
        }
    }

    /// The SQLite database file, for tests that read it raw.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// Runs one statement straight on the test's database, past the store (to plant a row the
    /// store would never write), with `$1` bound to `arg`; returns the rows it changed.
    pub async fn execute_raw(&self, sql: &str, arg: &str) -> u64 {
        use sqlx::Connection;
        match self.sqlite_path() {
            Some(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let done = sqlx::query(sql).bind(arg).execute(&mut conn).await.unwrap();
                done.rows_affected()
            }
            None => {
                let mut conn = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
                let done = sqlx::query(sql).bind(arg).execute(&mut conn).await.unwrap();
                done.rows_affected()
            }
        }
    }

    /// Runs statements with no parameters straight on the test's database (a migration's, say).
    pub async fn execute_script(&self, sql: &str) {
        use sqlx::{Connection, Executor};
        match self.sqlite_path() {
            Some(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
            None => {
                let mut conn = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
                conn.execute(sql).await.unwrap();
            }
        }
    }

    /// A second project on the same server, with its own credentials.
    pub async fn other_project(&self) -> (ProjectId, String) {
        create_project(self.store.as_ref()).await
    }

    pub async fn request_as(
        &self,
        credentials: Option<(&str, &str)>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let project_id = self.project_id.to_string();
        self.request_as(Some((&project_id, &self.secret)), method, path, body)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Creates a user and returns the response's `user` object.
    /// The newest messages of the project's outbox, opened: `(recipient, plain text)`.
    pub async fn outbox_texts(&self, limit: u32) -> Vec<(String, String)> {
        let vault = test_vault();
        self.store
            .outbox(&self.project_id, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|message| {
                let text = match &message.sealed {
                    Some(sealed) => {
                        let context = latchkey_core::delivery::MessageContent::context(
                            self.project_id.as_str(),
                            &message.message_id,
                        );
                        let plain = vault.open(&context, sealed).unwrap();
                        serde_json::from_slice::<latchkey_core::delivery::MessageContent>(&plain)
                            .unwrap()
                            .text
                    }
                    None => message.body.clone(),
                };
                (message.recipient, text)
            })
            .collect()
    }

    pub async fn create_user(&self, body: Value) -> Value {
        let reply = self.post("/v1/users", body).await;
        reply.assert_ok();
        reply.body["user"].clone()
    }

    /// All users of the project, through search.
    pub async fn count_users(&self) -> i64 {
        let reply = self.post("/v1/users/search", serde_json::json!({})).await;
        reply.assert_ok()["results_metadata"]["total"]
            .as_i64()
            .unwrap()
    }
}

/// A unique email for a test, so tests sharing a PostgreSQL database never collide.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}.{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A valid San Francisco number chosen at random (NANP exchanges start with 2 to 9).
pub fn unique_phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!("+1415{:07}", (n % 8_000_000) + 2_000_000)
}
