//! Delivery: email over SMTP (lettre) and SMS and WhatsApp through Twilio's Messages API, off
//! the request path. A request queues its message in the outbox, sealed with the vault, in the
//! transaction that issues the code or link it carries ([`Delivery::compose`]); the worker
//! ([`run_worker`]) claims due messages, sends them, and records each outcome, retrying with
//! backoff (core `delivery::retry_delay`). A channel with no provider configured keeps its
//! messages `held` in the development outbox (`latchkey project outbox`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use latchkey_core::delivery::{
    retry_delay, Channel, MessageContent, SendLimits, CLAIM_SECONDS, DEFAULT_SEND_LIMITS,
    MAX_DELIVERY_ATTEMPTS,
};
use latchkey_core::ids::ProjectId;
use latchkey_core::vault::Vault;
use latchkey_store::{ClaimedMessage, MessageStatus, NewMessage, Store};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

pub mod templates;

/// Twilio's own API base.
pub const TWILIO_API_BASE: &str = "https://api.twilio.com";

/// How long one step of a send may take (lettre's and reqwest's timeouts).
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a whole send may take before it counts as failed: well inside the claim
/// (`CLAIM_SECONDS`), so no other worker takes the message over while it is being sent.
const SEND_DEADLINE: Duration = Duration::from_secs(40);

/// How many messages one claim takes.
const CLAIM_BATCH: u32 = 16;

/// How often an idle worker looks for due messages (a queued message wakes it at once).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// The providers, as configured.
#[derive(Clone, Default)]
pub struct DeliveryConfig {
    /// lettre's URL form: `smtp://user:pass@host:587?tls=required`, `smtps://host`, ...
    pub smtp_url: Option<String>,
    /// The From of every email.
    pub email_from: Option<String>,
    pub twilio: Option<TwilioConfig>,
    pub limits: Option<SendLimits>,
}

impl std::fmt::Debug for DeliveryConfig {
    /// The SMTP URL may hold a password: only whether there is one is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("smtp", &self.smtp_url.is_some())
            .field("email_from", &self.email_from)
            .field("twilio", &self.twilio)
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// The sender: an E.164 number (WhatsApp sends from `whatsapp:<it>`).
    pub from: String,
    pub api_base: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("from", &self.from)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("LATCHKEY_SMTP_URL is not a usable SMTP URL: {0}")]
    SmtpUrl(String),
    #[error("LATCHKEY_EMAIL_FROM is required with LATCHKEY_SMTP_URL, as an address: {0}")]
    EmailFrom(String),
    #[error("the Twilio client could not be built: {0}")]
    Twilio(String),
}

struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

struct Twilio {
    client: reqwest::Client,
    config: TwilioConfig,
}

/// The configured providers, the send limits, and the worker's wake-up.
pub struct Delivery {
    mailer: Option<Mailer>,
    twilio: Option<Twilio>,
    pub limits: SendLimits,
    wake: Notify,
}

impl Default for Delivery {
    /// No provider: every message is held in the development outbox.
    fn default() -> Delivery {
        Delivery {
            mailer: None,
            twilio: None,
            limits: DEFAULT_SEND_LIMITS,
            wake: Notify::new(),
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("email", &self.mailer.is_some())
            .field("twilio", &self.twilio.as_ref().map(|twilio| &twilio.config))
            .field("limits", &self.limits)
            .finish()
    }
}

impl Delivery {
    pub fn new(config: DeliveryConfig) -> Result<Delivery, DeliveryError> {
        let mailer = match &config.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| DeliveryError::SmtpUrl(error.to_string()))?
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                let from = config
                    .email_from
                    .as_deref()
                    .ok_or_else(|| DeliveryError::EmailFrom("missing".to_owned()))?
                    .parse::<Mailbox>()
                    .map_err(|error| DeliveryError::EmailFrom(error.to_string()))?;
                Some(Mailer { transport, from })
            }
            None => None,
        };
        let twilio = match config.twilio {
            Some(config) => Some(Twilio {
                client: reqwest::Client::builder()
                    .timeout(SEND_TIMEOUT)
                    .build()
                    .map_err(|error| DeliveryError::Twilio(error.to_string()))?,
                config,
            }),
            None => None,
        };
        Ok(Delivery {
            mailer,
            twilio,
            limits: config.limits.unwrap_or(DEFAULT_SEND_LIMITS),
            wake: Notify::new(),
        })
    }

    /// The channels a provider serves: the only ones this worker claims.
    pub fn channels(&self) -> Vec<Channel> {
        Channel::ALL
            .into_iter()
            .filter(|channel| self.serves(*channel))
            .collect()
    }

    /// Whether a provider sends messages of `channel`.
    pub fn serves(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.mailer.is_some(),
            Channel::Sms | Channel::WhatsApp => self.twilio.is_some(),
        }
    }

    /// A message to queue: its content sealed for the project, queued when a provider serves
    /// its channel and held otherwise.
    pub fn compose(
        &self,
        vault: &Vault,
        project_id: &ProjectId,
        channel: Channel,
        recipient: &str,
        subject: String,
        content: &MessageContent,
    ) -> NewMessage {
        let message_id = uuid::Uuid::new_v4().to_string();
        // Serialising two strings cannot fail; an empty sealed body would be refused on open.
        let plain = serde_json::to_vec(content).unwrap_or_default();
        let sealed = vault.seal(
            &MessageContent::context(project_id.as_str(), &message_id),
            &plain,
        );
        NewMessage {
            message_id,
            channel,
            recipient: recipient.to_owned(),
            subject,
            sealed,
            status: if self.serves(channel) {
                MessageStatus::Queued
            } else {
                MessageStatus::Held
            },
            created_at: Utc::now(),
        }
    }

    /// Tells the worker a message is waiting.
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    async fn send(
        &self,
        channel: Channel,
        recipient: &str,
        subject: &str,
        content: MessageContent,
    ) -> Result<(), SendError> {
        match channel {
            Channel::Email => {
                let mailer = self.mailer.as_ref().ok_or(SendError::Permanent(
                    "no SMTP server is configured".to_owned(),
                ))?;
                let to = recipient.parse::<Mailbox>().map_err(|error| {
                    SendError::Permanent(format!("the recipient is not a mailbox: {error}"))
                })?;
                let builder = Message::builder()
                    .from(mailer.from.clone())
                    .to(to)
                    .subject(subject);
                let message = match content.html {
                    Some(html) => {
                        builder.multipart(MultiPart::alternative_plain_html(content.text, html))
                    }
                    None => builder.body(content.text),
                }
                .map_err(|error| {
                    SendError::Permanent(format!("the message could not be built: {error}"))
                })?;
                mailer
                    .transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|error| {
                        // A 5xx reply refuses this message for good; anything else may pass later.
                        let text = format!("SMTP: {error}");
                        if error.is_permanent() {
                            SendError::Permanent(text)
                        } else {
                            SendError::Transient(text)
                        }
                    })
            }
            Channel::Sms | Channel::WhatsApp => {
                let twilio = self
                    .twilio
                    .as_ref()
                    .ok_or(SendError::Permanent("Twilio is not configured".to_owned()))?;
                let config = &twilio.config;
                let (to, from) = match channel {
                    Channel::WhatsApp => (
                        format!("whatsapp:{recipient}"),
                        format!("whatsapp:{}", config.from),
                    ),
                    _ => (recipient.to_owned(), config.from.clone()),
                };
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    config.api_base.trim_end_matches('/'),
                    config.account_sid
                );
                let response = twilio
                    .client
                    .post(url)
                    .basic_auth(&config.account_sid, Some(&config.auth_token))
                    .form(&[
                        ("To", to.as_str()),
                        ("From", from.as_str()),
                        ("Body", content.text.as_str()),
                    ])
                    .send()
                    .await
                    .map_err(|error| {
                        SendError::Transient(format!("Twilio: {}", reqwest_error_kind(&error)))
                    })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                // Twilio's error body names its code and message; neither holds the code sent.
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let text = format!(
                    "Twilio answered {status}: {} {}",
                    body["code"],
                    body["message"].as_str().unwrap_or_default()
                );
                // A 4xx (but a rate limit) is Twilio refusing this message: trying again
                // would be refused again.
                if status.is_client_error() && status.as_u16() != 429 {
                    Err(SendError::Permanent(text))
                } else {
                    Err(SendError::Transient(text))
                }
            }
        }
    }
}

/// Why a send failed: worth another try, or not.
enum SendError {
    Transient(String),
    Permanent(String),
}

/// What went wrong with a request to Twilio, without its URL or body.
fn reqwest_error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_request() {
        "the request failed"
    } else {
        "the exchange failed"
    }
}

/// Sends one claimed message and records the outcome (while the claim holds).
async fn deliver(store: &dyn Store, vault: &Vault, delivery: &Delivery, claimed: ClaimedMessage) {
    let message = &claimed.message;
    let project_id = &claimed.project_id;
    let content = match &message.sealed {
        Some(sealed) => vault
            .open(
                &MessageContent::context(project_id.as_str(), &message.message_id),
                sealed,
            )
            .ok()
            .and_then(|plain| serde_json::from_slice::<MessageContent>(&plain).ok()),
        None => Some(MessageContent {
            text: message.body.clone(),
            html: None,
        }),
    };
    let outcome = match content {
        Some(content) => {
            let send = delivery.send(
                message.channel,
                &message.recipient,
                &message.subject,
                content,
            );
            match tokio::time::timeout(SEND_DEADLINE, send).await {
                Ok(outcome) => outcome,
                Err(_) => Err(SendError::Transient("the send timed out".to_owned())),
            }
        }
        None => Err(SendError::Permanent(
            "the message does not open with the secrets key".to_owned(),
        )),
    };
    let now = Utc::now();
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(message_id = %message.message_id, channel = message.channel.as_str(),
                "message delivered");
            store.message_sent(project_id, &claimed, now).await
        }
        Err(error) => {
            let (error, retry_at) = match error {
                SendError::Transient(error) => (
                    error,
                    (message.attempts < MAX_DELIVERY_ATTEMPTS)
                        .then(|| now + retry_delay(message.attempts)),
                ),
                SendError::Permanent(error) => (error, None),
            };
            tracing::warn!(message_id = %message.message_id, channel = message.channel.as_str(),
                attempts = message.attempts, retry = retry_at.is_some(), %error,
                "message delivery failed");
            store
                .message_failed(project_id, &claimed, &error, retry_at)
                .await
        }
    };
    match recorded {
        Ok(true) => {}
        // The claim lapsed: the worker that took the message over records its outcome.
        Ok(false) => tracing::warn!(message_id = %message.message_id,
            "a delivery outlived its claim; its outcome is not recorded"),
        // The claim lapses and the message is tried again: sent at least once.
        Err(error) => tracing::warn!(?error, "recording a delivery failed"),
    }
}

/// Claims the messages due at `now` (a batch) and sends them: how many were claimed.
pub async fn deliver_due(
    store: &dyn Store,
    vault: &Vault,
    delivery: &Delivery,
    now: chrono::DateTime<Utc>,
) -> Result<usize, latchkey_store::StoreError> {
    let channels = delivery.channels();
    if channels.is_empty() {
        return Ok(0);
    }
    let batch = store
        .claim_messages(
            now,
            now + chrono::TimeDelta::seconds(CLAIM_SECONDS),
            CLAIM_BATCH,
            &channels,
        )
        .await?;
    let claimed = batch.len();
    let sends = batch
        .into_iter()
        .map(|message| deliver(store, vault, delivery, message));
    futures_util::future::join_all(sends).await;
    Ok(claimed)
}

/// The delivery worker: runs until the task is dropped. Each replica runs one. A claim keeps
/// other workers off a message while it is sent (each send ends well inside its claim); a
/// worker that dies mid-send loses its claim, and the message is sent again: at least once.
pub async fn run_worker(store: Arc<dyn Store>, vault: Vault, delivery: Arc<Delivery>) {
    loop {
        match deliver_due(store.as_ref(), &vault, &delivery, Utc::now()).await {
            Ok(0) => {
                let _ = tokio::time::timeout(IDLE_POLL, delivery.wake.notified()).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(?error, "claiming messages to deliver failed");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}
