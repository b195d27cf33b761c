//! The `latchkey` binary: `serve` runs the API; `project` manages projects; `keys` rotates and
//! retires a project's JWT signing keys; `secrets reseal` finishes a rotation of the secrets
//! key.
//!
//! Logs go to stderr; stdout carries only machine-readable output (the JSON of
//! `project create` and `project list`).

use std::net::SocketAddr;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use latchkey_core::ids::{Environment, ProjectId, SigningKeyId};
use latchkey_core::jwt::{KeyKind, SigningKey};
use latchkey_core::lock;
use latchkey_core::passwords::Argon2Settings;
use latchkey_core::secret::Secret;
use latchkey_core::vault::Vault;
use latchkey_store::{ProjectRecord, ProjectSettings, StackKeys, Store};
use serde_json::json;
use tokio::net::TcpListener;

const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db";

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "A self-hosted server that speaks the Stytch API."
)]
struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "LATCHKEY_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server. Applies migrations first; creates a test project if there is none.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "LATCHKEY_LISTEN")]
        listen: SocketAddr,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        argon2: Argon2Args,
        #[command(flatten)]
        secrets: SecretsKeyArgs,
        #[command(flatten)]
        limits: LimitsArgs,
        #[command(flatten)]
        delivery: Box<DeliveryArgs>,
    },
    /// Manage projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Manage a project's JWT signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Rotate the secrets key that seals secrets at rest.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

/// Where messages go. With no SMTP server, emails stay in the development outbox
/// (`latchkey project outbox`); with no Twilio account, SMS and WhatsApp messages do.
#[derive(clap::Args)]
struct DeliveryArgs {
    /// The SMTP server, in lettre's URL form: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS) or `smtp://host:25` (plain).
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The From address of every email, e.g. `Acme <login@acme.example>`.
    #[arg(long, env = "LATCHKEY_EMAIL_FROM")]
    email_from: Option<String>,
    /// The Twilio account that sends SMS and WhatsApp messages.
    #[arg(long, env = "LATCHKEY_TWILIO_ACCOUNT_SID")]
    twilio_account_sid: Option<String>,
    /// Its auth token (from the environment only, never the command line).
    #[arg(skip = std::env::var("LATCHKEY_TWILIO_AUTH_TOKEN").ok())]
    twilio_auth_token: Option<String>,
    /// The sending number (E.164); WhatsApp messages are sent from `whatsapp:<it>`.
    #[arg(long, env = "LATCHKEY_TWILIO_FROM")]
    twilio_from: Option<String>,
    /// Twilio's API base URL (a test may point it at a local recorder).
    #[arg(long, env = "LATCHKEY_TWILIO_API_BASE", default_value = latchkey_server::delivery::TWILIO_API_BASE)]
    twilio_api_base: String,
    /// Messages a minute to one email address or phone number.
    #[arg(long, env = "LATCHKEY_SEND_LIMIT_PER_DESTINATION",
          default_value_t = latchkey_core::delivery::DEFAULT_SEND_LIMITS.per_destination,
          value_parser = clap::value_parser!(u64).range(1..))]
    send_limit_per_destination: u64,
    /// Messages a minute for one user.
    #[arg(long, env = "LATCHKEY_SEND_LIMIT_PER_USER",
          default_value_t = latchkey_core::delivery::DEFAULT_SEND_LIMITS.per_user,
          value_parser = clap::value_parser!(u64).range(1..))]
    send_limit_per_user: u64,
    /// Messages a minute for one project.
    #[arg(long, env = "LATCHKEY_SEND_LIMIT_PER_PROJECT",
          default_value_t = latchkey_core::delivery::DEFAULT_SEND_LIMITS.per_project,
          value_parser = clap::value_parser!(u64).range(1..))]
    send_limit_per_project: u64,
}

impl std::fmt::Debug for DeliveryArgs {
    /// The SMTP URL may hold a password and the auth token is one: neither is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryArgs")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("email_from", &self.email_from)
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field(
                "twilio_auth_token",
                &self.twilio_auth_token.as_ref().map(|_| "<set>"),
            )
            .field("twilio_from", &self.twilio_from)
            .field("twilio_api_base", &self.twilio_api_base)
            .finish_non_exhaustive()
    }
}

impl DeliveryArgs {
    fn config(self) -> anyhow::Result<latchkey_server::delivery::DeliveryConfig> {
        let twilio = match (
            self.twilio_account_sid,
            self.twilio_auth_token,
            self.twilio_from,
        ) {
            (Some(account_sid), Some(auth_token), Some(from)) => {
                Some(latchkey_server::delivery::TwilioConfig {
                    account_sid,
                    auth_token,
                    from,
                    api_base: self.twilio_api_base,
                })
            }
            (None, None, None) => None,
            _ => anyhow::bail!(
                "Twilio needs all of LATCHKEY_TWILIO_ACCOUNT_SID, LATCHKEY_TWILIO_AUTH_TOKEN and \
                 LATCHKEY_TWILIO_FROM"
            ),
        };
        Ok(latchkey_server::delivery::DeliveryConfig {
            smtp_url: self.smtp_url,
            email_from: self.email_from,
            twilio,
            limits: Some(latchkey_core::delivery::SendLimits {
                per_destination: self.send_limit_per_destination,
                per_user: self.send_limit_per_user,
                per_project: self.send_limit_per_project,
                ..latchkey_core::delivery::DEFAULT_SEND_LIMITS
            }),
        })
    }
}

/// The cost of the argon2id hashes written for new passwords and for upgraded legacy hashes.
/// Stored hashes with other parameters still verify, and are re-hashed at their next login.
#[derive(Debug, clap::Args)]
struct Argon2Args {
    /// Memory per hash, in KiB (default: OWASP's 19 MiB).
    #[arg(long, default_value_t = 19_456, env = "LATCHKEY_ARGON2_MEMORY_KIB")]
    argon2_memory_kib: u32,
    /// Passes over the memory.
    #[arg(long, default_value_t = 2, env = "LATCHKEY_ARGON2_ITERATIONS")]
    argon2_iterations: u32,
    /// Lanes per hash.
    #[arg(long, default_value_t = 1, env = "LATCHKEY_ARGON2_PARALLELISM")]
    argon2_parallelism: u32,
}

/// What protects the server from overload.
#[derive(Debug, clap::Args)]
struct LimitsArgs {
    /// A request still running after this many seconds is abandoned (503 `request_timeout`).
    #[arg(long, default_value_t = 30, env = "LATCHKEY_REQUEST_TIMEOUT_SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout_seconds: u64,
    /// Connections kept open at once; further ones wait to be accepted.
    #[arg(long, default_value_t = 4096, env = "LATCHKEY_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// A connection that has not sent a whole request head (request line and headers) this many
    /// seconds after it opened, or after its last response, is closed. Slow clients cannot hold
    /// connections (and their places under --max-connections) open.
    #[arg(long, default_value_t = 10, env = "LATCHKEY_HEADER_READ_TIMEOUT_SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout_seconds: u64,
    /// A request body not wholly received this many seconds after its headers is answered 408
    /// `request_body_timeout` and its connection closed. The whole request, body included, is
    /// also bounded by --request-timeout-seconds.
    #[arg(long, default_value_t = 20, env = "LATCHKEY_BODY_READ_TIMEOUT_SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_read_timeout_seconds: u64,
    /// Requests per second each project may make (0: no limit): Stytch requests and Stack's
    /// server-side ones; beyond it, 429 `too_many_requests` with `Retry-After`.
    #[arg(long, default_value_t = 10_000, env = "LATCHKEY_RATE_LIMIT_PER_SECOND")]
    rate_limit_per_second: u32,
    /// Requests a project may make at once above its rate.
    #[arg(long, default_value_t = 20_000, env = "LATCHKEY_RATE_LIMIT_BURST")]
    rate_limit_burst: u32,
    /// Requests per second Stack's client-side traffic (a publishable client key) may make to a
    /// project from one client address (an IPv4 address or an IPv6 /64; 0: no limit). These
    /// have buckets of their own and never spend the project's; beyond it, 429.
    #[arg(
        long,
        default_value_t = 100,
        env = "LATCHKEY_CLIENT_RATE_LIMIT_PER_SECOND"
    )]
    client_rate_limit_per_second: u32,
    /// Client-side requests one client address may make at once above its rate.
    #[arg(long, default_value_t = 200, env = "LATCHKEY_CLIENT_RATE_LIMIT_BURST")]
    client_rate_limit_burst: u32,
    /// Threads that hash passwords and score their strength (default: one per core).
    #[arg(long, env = "LATCHKEY_HASH_THREADS",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    hash_threads: Option<u64>,
    /// Password jobs (hashes, strength checks) waiting or running at once, in all (default: 32
    /// per hash thread); past it, 503 `service_unavailable` with `Retry-After`, at once.
    #[arg(long, env = "LATCHKEY_HASH_QUEUE",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    hash_queue: Option<u64>,
    /// Password jobs one project may have waiting or running at once (default: 16 per hash
    /// thread); past it, 429 `too_many_requests` with `Retry-After`, at once.
    #[arg(long, env = "LATCHKEY_HASH_QUEUE_PER_PROJECT",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    hash_queue_per_project: Option<u64>,
}

impl LimitsArgs {
    fn limits(&self) -> latchkey_server::operations::Limits {
        let count = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        let hash_threads = self
            .hash_threads
            .map_or_else(latchkey_server::HashPool::default_size, count);
        let defaults = latchkey_server::hashing::QueueBounds::for_threads(hash_threads);
        let hash_queue = latchkey_server::hashing::QueueBounds {
            total: self.hash_queue.map_or(defaults.total, count),
            per_project: self
                .hash_queue_per_project
                .map_or(defaults.per_project, count),
        };
        latchkey_server::operations::Limits {
            request_timeout: std::time::Duration::from_secs(self.request_timeout_seconds),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            body_read_timeout: std::time::Duration::from_secs(self.body_read_timeout_seconds),
            rate_per_second: self.rate_limit_per_second,
            rate_burst: self.rate_limit_burst,
            client_rate_per_second: self.client_rate_limit_per_second,
            client_rate_burst: self.client_rate_limit_burst,
            hash_threads,
            hash_queue,
        }
    }
}

/// The key that seals TOTP secrets, recovery codes and JWT signing keys, and digests recovery
/// codes. The database never holds it: losing it loses every TOTP secret, recovery code and
/// signing key.
#[derive(Debug, clap::Args)]
struct SecretsKeyArgs {
    /// A file holding the key (32 bytes, base64). With SQLite and neither this nor
    /// LATCHKEY_SECRETS_KEY, the key lives in `<database file>.key`, generated on first start.
    /// PostgreSQL requires one of the two.
    #[arg(long, env = "LATCHKEY_SECRETS_KEY_FILE")]
    secrets_key_file: Option<std::path::PathBuf>,
    /// During a rotation of the secrets key: a file holding an old key, which still opens what
    /// it sealed until `latchkey secrets reseal` has moved everything to the current key
    /// (repeatable; old keys may also be given in LATCHKEY_OLD_SECRETS_KEYS, comma-separated).
    #[arg(long)]
    old_secrets_key_file: Vec<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key of each kind (consumer and B2B). New JWTs are signed with it; JWTs
    /// signed with the older keys still validate, as the JWKS keeps publishing them until they
    /// are retired.
    Rotate {
        #[arg(long)]
        project_id: String,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        secrets: SecretsKeyArgs,
    },
    /// Retire a signing key: it signs nothing from now on, and leaves the JWKS (JWTs it signed
    /// stop validating) once they have expired, six minutes later. The project's next JWT of
    /// that kind is signed by its newest key that is not retired, or by a new one.
    Retire {
        #[arg(long)]
        project_id: String,
        /// The key's id, as the JWKS and `keys list` show it.
        #[arg(long)]
        kid: String,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
    /// List the project's signing keys as JSON lines, newest first: kind, whether each signs,
    /// and until when a retired one is published.
    List {
        #[arg(long)]
        project_id: String,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Move every sealed value (TOTP secrets, recovery codes, signing keys) to the current
    /// secrets key. Run it while the servers run with the new key and the old one
    /// (--old-secrets-key-file or LATCHKEY_OLD_SECRETS_KEYS); once it has finished, the old key
    /// can be dropped. Prints what it moved as JSON.
    Reseal {
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        secrets: SecretsKeyArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Create a project and print its id and secret (shown only this once) as JSON.
    Create {
        #[arg(long)]
        name: String,
        /// Create a live project (ids `*-live-*`) instead of a test one.
        #[arg(long)]
        live: bool,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
    /// List projects as JSON lines, without secrets.
    List {
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
    /// Give the project new Stack Auth keys (the old ones stop working) and print them; the
    /// secret server key is shown only this once.
    StackKeys {
        #[arg(long)]
        project_id: String,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
    /// Print the newest messages of the project's development outbox (e.g. email verification
    /// links) as JSON lines, newest first.
    Outbox {
        #[arg(long)]
        project_id: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
        /// Messages are sealed at rest: the key opens them.
        #[command(flatten)]
        secrets: SecretsKeyArgs,
    },
    /// Show or set the project's wording of a kind of message (over Latchkey's defaults).
    /// Placeholders: {{project_name}}, {{minutes}}, {{link}} (links; required) or {{code}}
    /// (passcodes; required on a line of its own), {{login_link}} (a reset mail's login link).
    Template {
        #[arg(long)]
        project_id: String,
        /// login, signup, invite, otp or reset_password.
        #[arg(long)]
        kind: String,
        #[arg(long, requires = "text_file")]
        subject: Option<String>,
        /// The plain-text part (for otp, also the SMS and WhatsApp text).
        #[arg(long, requires = "subject")]
        text_file: Option<std::path::PathBuf>,
        /// The HTML part (values are HTML-escaped where they are filled in).
        #[arg(long, requires = "subject")]
        html_file: Option<std::path::PathBuf>,
        /// Go back to Latchkey's default wording.
        #[arg(long, conflicts_with_all = ["subject", "text_file", "html_file"])]
        reset: bool,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
    /// Change a project's user-lock settings.
    Settings {
        #[arg(long)]
        project_id: String,
        /// Consecutive failed authentications that lock a user (1 to 100).
        #[arg(long, value_parser = clap::value_parser!(u32)
            .range(i64::from(lock::MIN_THRESHOLD)..=i64::from(lock::MAX_THRESHOLD)))]
        lock_threshold: Option<u32>,
        /// How long a lock lasts, in seconds (300 to 604800).
        #[arg(long, value_parser = clap::value_parser!(i64)
            .range(lock::MIN_LOCK_SECONDS..=lock::MAX_LOCK_SECONDS))]
        lock_ttl_seconds: Option<i64>,
        /// The redirect URLs the project allows, replacing the list (repeatable): `URL` for
        /// every type, or `TYPES=URL` with comma-separated types among login, signup, invite,
        /// reset_password and discovery. The first URL of each type is its default.
        #[arg(long = "redirect-url", value_name = "[TYPES=]URL")]
        redirect_urls: Vec<String>,
        /// Remove every redirect URL (a test project then accepts localhost URLs).
        #[arg(long, conflicts_with = "redirect_urls")]
        clear_redirect_urls: bool,
        #[arg(long, default_value = DEFAULT_DATABASE_URL, env = "LATCHKEY_DATABASE_URL")]
        database_url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve {
            listen,
            database_url,
            argon2,
            secrets,
            limits,
            delivery,
        } => {
            let delivery = latchkey_server::delivery::Delivery::new((*delivery).config()?)
                .context("the delivery settings")?;
            let argon2 = Argon2Settings::new(
                argon2.argon2_memory_kib,
                argon2.argon2_iterations,
                argon2.argon2_parallelism,
            )
            .context("the --argon2-* settings")?;
            serve(
                listen,
                &database_url,
                argon2,
                secrets,
                limits.limits(),
                delivery,
            )
            .await
        }
        Command::Project { command } => match command {
            ProjectCommand::Create {
                name,
                live,
                database_url,
            } => {
                let store = open_store(&database_url).await?;
                let env = if live {
                    Environment::Live
                } else {
                    Environment::Test
                };
                let (project, issued) = create_project(store.as_ref(), &name, env).await?;
                println!("{}", project_json(&project, Some(&issued)));
                Ok(())
            }
            ProjectCommand::List { database_url } => {
                let store = open_store(&database_url).await?;
                for project in store.list_projects().await? {
                    println!("{}", project_json(&project, None));
                }
                Ok(())
            }
            ProjectCommand::StackKeys {
                project_id,
                database_url,
            } => {
                let store = open_store(&database_url).await?;
                let project = find_project(store.as_ref(), &project_id).await?;
                let (keys, secret_server_key) = StackKeys::generate();
                store.set_stack_keys(&project.project_id, &keys).await?;
                println!(
                    "{}",
                    json!({
                        "project_id": project.project_id,
                        "stack_project_id": latchkey_server::stack::stack_project_id(&project.project_id),
                        "publishable_client_key": keys.publishable_client_key,
                        "secret_server_key": secret_server_key.expose(),
                    })
                );
                Ok(())
            }
            ProjectCommand::Outbox {
                project_id,
                limit,
                database_url,
                secrets,
            } => {
                let store = open_store(&database_url).await?;
                let vault = checked_vault(store.as_ref(), &database_url, &secrets).await?;
                let project = find_project(store.as_ref(), &project_id).await?;
                for message in store.outbox(&project.project_id, limit).await? {
                    let content = match &message.sealed {
                        Some(sealed) => {
                            let context = latchkey_core::delivery::MessageContent::context(
                                project.project_id.as_str(),
                                &message.message_id,
                            );
                            vault.open(&context, sealed).ok().and_then(|plain| {
                                serde_json::from_slice::<latchkey_core::delivery::MessageContent>(
                                    &plain,
                                )
                                .ok()
                            })
                        }
                        None => Some(latchkey_core::delivery::MessageContent {
                            text: message.body.clone(),
                            html: None,
                        }),
                    };
                    let unreadable = content
                        .is_none()
                        .then_some("the message does not open with this secrets key");
                    let (body, html) = match content {
                        Some(content) => (Some(content.text), content.html),
                        None => (None, None),
                    };
                    println!(
                        "{}",
                        json!({
                            "message_id": message.message_id,
                            "channel": message.channel.as_str(),
                            "to": message.recipient,
                            "subject": message.subject,
                            "body": body,
                            "html": html,
                            "error": unreadable,
                            "status": message.status.as_str(),
                            "attempts": message.attempts,
                            "last_error": message.last_error,
                            "created_at": message.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        })
                    );
                }
                Ok(())
            }
            ProjectCommand::Template {
                project_id,
                kind,
                subject,
                text_file,
                html_file,
                reset,
                database_url,
            } => {
                use latchkey_core::delivery::{Template, TemplateKind};
                let kind = TemplateKind::parse(&kind).with_context(|| {
                    format!("{kind:?} is not one of login, signup, invite, otp, reset_password")
                })?;
                let store = open_store(&database_url).await?;
                let project = find_project(store.as_ref(), &project_id).await?;
                let now = chrono::Utc::now();
                if reset {
                    store
                        .set_message_template(&project.project_id, kind, None, now)
                        .await?;
                } else if let (Some(subject), Some(text_file)) = (subject, text_file) {
                    let read = |path: &std::path::Path| {
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))
                    };
                    let text = read(&text_file)?;
                    let html = html_file.as_deref().map(read).transpose()?;
                    let template = Template::new(kind, subject, text, html)
                        .context("the template is refused")?;
                    store
                        .set_message_template(&project.project_id, kind, Some(template), now)
                        .await?;
                }
                let current = store.message_template(&project.project_id, kind).await?;
                println!(
                    "{}",
                    json!({
                        "project_id": project.project_id,
                        "kind": kind.as_str(),
                        "template": current.map(|template| json!({
                            "subject": template.subject,
                            "text": template.text,
                            "html": template.html,
                        })),
                    })
                );
                Ok(())
            }
            ProjectCommand::Settings {
                project_id,
                lock_threshold,
                lock_ttl_seconds,
                redirect_urls,
                clear_redirect_urls,
                database_url,
            } => {
                let store = open_store(&database_url).await?;
                let project = find_project(store.as_ref(), &project_id).await?;
                if !redirect_urls.is_empty() || clear_redirect_urls {
                    let urls = parse_redirect_urls(&redirect_urls)?;
                    store
                        .replace_redirect_urls(&project.project_id, urls, chrono::Utc::now())
                        .await?;
                }
                let mut settings = project.settings;
                if let Some(threshold) = lock_threshold {
                    settings.lock_threshold = threshold;
                }
                if let Some(ttl) = lock_ttl_seconds {
                    settings.lock_ttl_seconds = ttl;
                }
                store
                    .update_project_settings(&project.project_id, &settings)
                    .await?;
                println!(
                    "{}",
                    json!({
                        "project_id": project.project_id,
                        "lock_threshold": settings.lock_threshold,
                        "lock_ttl_seconds": settings.lock_ttl_seconds,
                        "redirect_urls": redirect_urls_json(
                            &store.redirect_urls(&project.project_id).await?
                        ),
                    })
                );
                Ok(())
            }
        },
        Command::Keys { command } => keys(command).await,
        Command::Secrets {
            command:
                SecretsCommand::Reseal {
                    database_url,
                    secrets,
                },
        } => {
            let store = open_store(&database_url).await?;
            let vault = checked_vault(store.as_ref(), &database_url, &secrets).await?;
            let report = latchkey_server::vault::reseal_all(store.as_ref(), &vault)
                .await
                .context("re-sealing")?;
            if report.unmovable_recovery_codes > 0 {
                tracing::warn!(
                    registrations = report.unmovable_recovery_codes,
                    "some TOTP registrations predate sealed recovery codes: their codes stop \
                     working once the old key is dropped (TOTP itself keeps working)"
                );
            }
            println!("{}", json!(report));
            Ok(())
        }
    }
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate {
            project_id,
            database_url,
            secrets,
        } => {
            let store = open_store(&database_url).await?;
            let vault = checked_vault(store.as_ref(), &database_url, &secrets).await?;
            let project = find_project(store.as_ref(), &project_id).await?;
            // Both kinds: consumer sessions' keys and B2B member sessions' keys.
            let now = Utc::now();
            let mut kids = serde_json::Map::new();
            for kind in KeyKind::ALL {
                let key = SigningKey::generate(&vault, &project.project_id, kind, now)?;
                store.add_signing_key(&project.project_id, &key).await?;
                kids.insert(kind.as_str().to_owned(), json!(key.kid));
            }
            println!(
                "{}",
                json!({"project_id": project.project_id, "kid": kids["consumer"], "kids": kids})
            );
            Ok(())
        }
        KeysCommand::Retire {
            project_id,
            kid,
            database_url,
        } => {
            let store = open_store(&database_url).await?;
            let project = find_project(store.as_ref(), &project_id).await?;
            let kid = SigningKeyId::parse(&kid).context("--kid is not a signing key id")?;
            store
                .retire_signing_key(&project.project_id, &kid, Utc::now())
                .await
                .with_context(|| format!("no signing key {kid} in project {project_id}"))?;
            let keys = store.signing_keys(&project.project_id).await?;
            let key = keys
                .iter()
                .find(|key| key.kid == kid)
                .with_context(|| format!("key {kid} is gone"))?;
            println!("{}", key_json(key));
            Ok(())
        }
        KeysCommand::List {
            project_id,
            database_url,
        } => {
            let store = open_store(&database_url).await?;
            let project = find_project(store.as_ref(), &project_id).await?;
            for key in store.signing_keys(&project.project_id).await? {
                println!("{}", key_json(&key));
            }
            Ok(())
        }
    }
}

/// A signing key as `keys list` and `keys retire` show it: never its private half.
fn key_json(key: &SigningKey) -> serde_json::Value {
    let time = |at: chrono::DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let now = Utc::now();
    json!({
        "kid": key.kid,
        "kind": key.kind.as_str(),
        "created_at": time(key.created_at),
        "signs": key.signs(),
        "published": key.published(now),
        "retired_at": key.retired_at.map(time),
        "published_until": key.published_until().map(time),
    })
}

/// The configured secrets key (with any old keys of a rotation), checked against the database.
async fn checked_vault(
    store: &dyn Store,
    database_url: &str,
    args: &SecretsKeyArgs,
) -> anyhow::Result<Vault> {
    let mut vault = secrets_key(store, database_url, args).await?;
    for old in old_secrets_keys(args)? {
        vault = vault.with_old_key(old);
    }
    latchkey_server::vault::check_key(store, &vault)
        .await
        .context("checking the secrets key")?;
    Ok(vault)
}

/// The old keys of a rotation: LATCHKEY_OLD_SECRETS_KEYS (comma-separated) and each
/// --old-secrets-key-file.
fn old_secrets_keys(args: &SecretsKeyArgs) -> anyhow::Result<Vec<Vault>> {
    let mut old = Vec::new();
    if let Ok(text) = std::env::var("LATCHKEY_OLD_SECRETS_KEYS") {
        for (at, key) in text
            .split(',')
            .filter(|key| !key.trim().is_empty())
            .enumerate()
        {
            old.push(
                Vault::from_key_text(key)
                    .with_context(|| format!("LATCHKEY_OLD_SECRETS_KEYS, key {}", at + 1))?,
            );
        }
    }
    for path in &args.old_secrets_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the old secrets key file {}", path.display()))?;
        old.push(
            Vault::from_key_text(&text)
                .with_context(|| format!("the old secrets key file {}", path.display()))?,
        );
    }
    Ok(old)
}

/// Finds the secrets key: `LATCHKEY_SECRETS_KEY`, else `--secrets-key-file`, else (SQLite
/// only) the file beside the database, generated if the database has never sealed anything.
async fn secrets_key(
    store: &dyn Store,
    database_url: &str,
    args: &SecretsKeyArgs,
) -> anyhow::Result<Vault> {
    if let Ok(text) = std::env::var("LATCHKEY_SECRETS_KEY") {
        return Vault::from_key_text(&text).context("LATCHKEY_SECRETS_KEY");
    }
    if let Some(path) = &args.secrets_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the secrets key file {}", path.display()))?;
        return Vault::from_key_text(&text)
            .with_context(|| format!("the secrets key file {}", path.display()));
    }
    let Some(path) = sqlite_key_path(database_url) else {
        anyhow::bail!(
            "PostgreSQL needs a secrets key (it seals TOTP secrets): set LATCHKEY_SECRETS_KEY or \
             --secrets-key-file to 32 random bytes in base64, e.g. `openssl rand -base64 32`"
        );
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Vault::from_key_text(&text)
            .with_context(|| format!("the secrets key file {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // A check value means some key was used with this database: it may have sealed
            // secrets, which a new key could never open.
            if store.vault_check().await?.is_some() {
                anyhow::bail!(
                    "the database has sealed secrets but its key file {} is missing; restore it \
                     or point --secrets-key-file at it",
                    path.display()
                );
            }
            let text = Vault::generate_key_text();
            write_private_file(&path, &text)
                .with_context(|| format!("writing the secrets key file {}", path.display()))?;
            tracing::warn!(
                key_file = %path.display(),
                "generated the secrets key that seals TOTP secrets and recovery codes; back it up \
                 with the database: losing it loses every TOTP secret and recovery code"
            );
            Vault::from_key_text(&text).context("the generated secrets key")
        }
        Err(error) => {
            Err(error).with_context(|| format!("reading the secrets key file {}", path.display()))
        }
    }
}

/// `<database file>.key` for a SQLite URL naming a file; `None` for PostgreSQL or in-memory.
fn sqlite_key_path(database_url: &str) -> Option<std::path::PathBuf> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return None;
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(format!("{path}.key")))
}

/// Creates `path` with `contents`, readable by its owner only; refuses to overwrite.
fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

async fn open_store(database_url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    latchkey_store::connect(database_url)
        .await
        .context("opening the database")
}

async fn find_project(store: &dyn Store, project_id: &str) -> anyhow::Result<ProjectRecord> {
    let id = ProjectId::parse(project_id).context("--project-id is not a project id")?;
    store
        .get_project(&id)
        .await?
        .with_context(|| format!("no project {project_id}"))
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The secrets a new project is given, shown once.
struct Issued {
    secret: Secret,
    secret_server_key: Secret,
}

/// Creates a project with its Stytch secret and its Stack Auth keys, in one transaction. Its
/// signing keys are made (and sealed) by the server when it first signs.
async fn create_project(
    store: &dyn Store,
    name: &str,
    env: Environment,
) -> anyhow::Result<(ProjectRecord, Issued)> {
    let secret = Secret::generate("secret", env);
    let (stack_keys, secret_server_key) = StackKeys::generate();
    let project = ProjectRecord {
        project_id: ProjectId::generate(env),
        name: name.to_owned(),
        environment: env,
        secret_digest: secret.digest(),
        created_at: Utc::now(),
        settings: ProjectSettings::default(),
        stack_keys: Some(stack_keys),
    };
    store
        .create_project(&project)
        .await
        .context("storing the project")?;
    Ok((
        project,
        Issued {
            secret,
            secret_server_key,
        },
    ))
}

/// A project as JSON; with `issued`, its secrets too (they are shown only this once). The
/// publishable client key is public and always shown.
fn project_json(project: &ProjectRecord, issued: Option<&Issued>) -> serde_json::Value {
    let mut value = json!({
        "project_id": project.project_id,
        "name": project.name,
        "environment": project.environment.as_str(),
        "created_at": project.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        // Stack Auth's clients name a project by a UUID: this one's.
        "stack_project_id": latchkey_server::stack::stack_project_id(&project.project_id),
        "publishable_client_key": project.stack_keys.as_ref().map(|keys| keys.publishable_client_key.clone()),
    });
    if let (Some(issued), Some(object)) = (issued, value.as_object_mut()) {
        object.insert("secret".to_owned(), json!(issued.secret.expose()));
        object.insert(
            "secret_server_key".to_owned(),
            json!(issued.secret_server_key.expose()),
        );
    }
    value
}

/// `--redirect-url` values: `URL` (every type) or `TYPES=URL`; the first URL of each type
/// is its default.
fn parse_redirect_urls(values: &[String]) -> anyhow::Result<Vec<latchkey_store::RedirectUrl>> {
    use latchkey_core::redirect_urls::RedirectType;
    let mut defaults = std::collections::HashSet::new();
    let mut urls: Vec<latchkey_store::RedirectUrl> = Vec::new();
    for value in values {
        let (types, url) = match value.split_once('=') {
            Some((types, url)) if !types.contains(':') && !types.contains('/') => {
                let types = types
                    .split(',')
                    .map(|name| {
                        RedirectType::parse(name.trim())
                            .with_context(|| format!("{name:?} is not a redirect URL type"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                (types, url)
            }
            _ => (RedirectType::ALL.to_vec(), value.as_str()),
        };
        let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
        anyhow::ensure!(
            !parsed.cannot_be_a_base() && parsed.fragment().is_none(),
            "{url:?} cannot be a redirect URL"
        );
        let valid_types = types
            .into_iter()
            .map(|kind| (kind, defaults.insert(kind)))
            .collect();
        urls.push(latchkey_store::RedirectUrl {
            url: url.to_owned(),
            valid_types,
        });
    }
    Ok(urls)
}

/// Redirect URLs as Stytch's management API shows them.
fn redirect_urls_json(urls: &[latchkey_store::RedirectUrl]) -> serde_json::Value {
    urls.iter()
        .map(|url| {
            json!({
                "url": url.url,
                "valid_types": url.valid_types.iter().map(|(kind, is_default)| json!({
                    "type": kind.wire_name(),
                    "is_default": is_default,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn serve(
    listen: SocketAddr,
    database_url: &str,
    argon2: Argon2Settings,
    secrets: SecretsKeyArgs,
    limits: latchkey_server::operations::Limits,
    delivery: latchkey_server::delivery::Delivery,
) -> anyhow::Result<()> {
    let store = open_store(database_url).await?;
    let vault = checked_vault(store.as_ref(), database_url, &secrets).await?;
    let sealed = latchkey_server::vault::seal_signing_keys(store.as_ref(), &vault)
        .await
        .context("sealing the signing keys")?;
    if sealed > 0 {
        tracing::info!(
            keys = sealed,
            "sealed signing keys stored before keys were sealed"
        );
    }
    if store.list_projects().await?.is_empty() {
        let (project, issued) =
            create_project(store.as_ref(), "Default test project", Environment::Test).await?;
        // Shown once, on stdout, so it can be captured; the log line says where to look.
        println!("{}", project_json(&project, Some(&issued)));
        tracing::warn!(
            project_id = %project.project_id,
            "the database had no project: created a test project; its secret is printed once on stdout"
        );
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "latchkey listening");
    let mut state = latchkey_server::AppState::new(store, vault)
        .with_limits(limits)
        .with_delivery(delivery);
    state.argon2 = argon2;
    tracing::info!(delivery = ?state.delivery, "delivery");
    let worker = tokio::spawn(latchkey_server::delivery::run_worker(
        state.store.clone(),
        state.vault.clone(),
        state.delivery.clone(),
    ));
    let app = latchkey_server::router(state);
    latchkey_server::serve::serve(listener, app, limits, shutdown_signal()).await;
    // A message being sent now is claimed; its claim lapses and another start sends it.
    worker.abort();
    tracing::info!("latchkey stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
