//! What email magic links, one-time passcodes and password resets by email share: the request
//! pieces Stytch gives each (`attributes`, `options`), the project's redirect URLs, the link a
//! message carries, and the send itself (find or create the user, issue the secret, queue the
//! sealed message, in one store transaction), with Stytch's sandbox destinations.

use chrono::{DateTime, Utc};
use latchkey_core::delivery::{sandbox, Channel, MessageContent};
use latchkey_core::ids::{Environment, UserId};
use latchkey_core::redirect_urls::{RedirectType, MAX_URL_LENGTH, TEST_DEFAULT_URL};
use latchkey_core::users::{NewUser, UserStatus};
use latchkey_core::values::{Email, Name, PhoneNumber};
use latchkey_store::{
    Destination, Issue, NewMessage, PasswordlessSend, ProjectRecord, Refusal, SendTarget, Sent,
    StoreError,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorType};
use crate::AppState;

/// Stytch's `attributes`: where the request came from. Accepted, with `null` members (the
/// Python SDK sends them), and not stored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Stytch's `options`: require the authenticate to come from the sending request's IP address
/// or user agent. Latchkey does not keep the sending request's attributes, so it refuses to
/// promise either check rather than skip it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateOptions {
    pub ip_match_required: Option<bool>,
    pub user_agent_match_required: Option<bool>,
}

impl AuthenticateOptions {
    pub fn check(options: Option<&AuthenticateOptions>) -> Result<(), ApiError> {
        match options {
            Some(options)
                if options.ip_match_required == Some(true)
                    || options.user_agent_match_required == Some(true) =>
            {
                Err(ApiError::bad_request(
                    "ip_match_required and user_agent_match_required are not supported by this \
                     server.",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// `locale`: Stytch's message languages. Latchkey's messages are in English; any of Stytch's
/// locales is accepted.
pub fn check_locale(locale: Option<&str>) -> Result<(), ApiError> {
    match locale {
        Some(locale) if locale.len() > 16 => Err(ApiError::bad_request("locale is not a locale.")),
        _ => Ok(()),
    }
}

/// Refuses, on `login_or_create`, fields only `send` takes (and the other way round): a caller
/// who names a user to add the destination to must not get a new user instead.
pub fn refuse_fields(fields: &[(&str, bool)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, given)| *given) {
        Some((field, _)) => Err(ApiError::bad_request(format!(
            "{field} is not a field of this endpoint."
        ))),
        None => Ok(()),
    }
}

/// Whether the project answers Stytch's sandbox values (test projects only).
pub fn is_sandbox(project: &ProjectRecord, destination: &Destination) -> bool {
    project.environment == Environment::Test
        && match destination {
            Destination::Email(email) => email.as_str() == sandbox::EMAIL,
            Destination::Phone(phone) => phone.as_str() == sandbox::PHONE_NUMBER,
        }
}

pub fn parse_email(email: Option<String>) -> Result<Email, ApiError> {
    let email = super::users::given(email)
        .ok_or_else(|| ApiError::new(ErrorType::InvalidEmail, "email is required."))?;
    Ok(Email::parse(&email)?)
}

pub fn parse_phone(phone: Option<String>) -> Result<PhoneNumber, ApiError> {
    let phone = super::users::given(phone)
        .ok_or_else(|| ApiError::new(ErrorType::InvalidPhoneNumber, "phone_number is required."))?;
    Ok(PhoneNumber::parse(&phone)?)
}

/// A redirect URL a request may use: one it gave, checked against the project's list, or the
/// list's default for the type. `Ok(None)`: none given and no default, an error only once a
/// message needs one ([`need_url`]). A URL given and not allowed is refused at once, before
/// anything is written.
pub async fn redirect_url(
    state: &AppState,
    project: &ProjectRecord,
    kind: RedirectType,
    given: Option<&str>,
) -> Result<Option<Url>, ApiError> {
    let urls = state.store.redirect_urls(&project.project_id).await?;
    resolve_redirect_url(project, &urls, kind, given)
}

/// [`redirect_url`] for two types at once (a send's login and sign-up URLs), reading the
/// project's list once.
pub async fn redirect_url_pair(
    state: &AppState,
    project: &ProjectRecord,
    (first, first_given): (RedirectType, Option<&str>),
    (second, second_given): (RedirectType, Option<&str>),
) -> Result<(Option<Url>, Option<Url>), ApiError> {
    let urls = state.store.redirect_urls(&project.project_id).await?;
    Ok((
        resolve_redirect_url(project, &urls, first, first_given)?,
        resolve_redirect_url(project, &urls, second, second_given)?,
    ))
}

fn resolve_redirect_url(
    project: &ProjectRecord,
    urls: &[latchkey_store::RedirectUrl],
    kind: RedirectType,
    given: Option<&str>,
) -> Result<Option<Url>, ApiError> {
    let field = kind.field();
    let given = given.filter(|url| !url.is_empty());
    let parsed = match given {
        Some(text) => {
            let url = Url::parse(text).ok().filter(|url| {
                text.len() <= MAX_URL_LENGTH && !url.cannot_be_a_base() && url.fragment().is_none()
            });
            Some(url.ok_or_else(|| {
                ApiError::new(
                    ErrorType::InvalidMagicLinkUrl,
                    format!("{field} format is invalid."),
                )
            })?)
        }
        None => None,
    };
    if urls.is_empty() {
        // A test project with an empty list takes local development URLs on any port.
        if project.environment != Environment::Test {
            return match parsed {
                Some(_) => Err(no_match(field)),
                None => Ok(None),
            };
        }
        return match parsed {
            Some(url) if is_local(&url) => Ok(Some(url)),
            Some(_) => Err(no_match(field)),
            None => Ok(Url::parse(TEST_DEFAULT_URL).ok()),
        };
    }
    let allowed: Vec<(Url, bool)> = urls
        .iter()
        .filter_map(|registered| {
            let default = registered
                .valid_types
                .iter()
                .find(|(registered_kind, _)| *registered_kind == kind)?
                .1;
            Some((Url::parse(&registered.url).ok()?, default))
        })
        .collect();
    match parsed {
        Some(url) => {
            if allowed
                .iter()
                .any(|(registered, _)| same_target(registered, &url))
            {
                Ok(Some(url))
            } else {
                Err(no_match(field))
            }
        }
        None => Ok(allowed
            .iter()
            .find(|(_, default)| *default)
            .or_else(|| allowed.first())
            .map(|(url, _)| url.clone())),
    }
}

/// The URL a message needs, or Stytch's 400 when neither the request nor the project has one.
pub fn need_url(url: Option<Url>, kind: RedirectType) -> Result<Url, ApiError> {
    url.ok_or_else(|| {
        ApiError::new(
            ErrorType::NoMatchForProvidedMagicLinkUrl,
            format!(
                "No {} was given and the project has no default {} redirect URL.",
                kind.field(),
                kind.wire_name()
            ),
        )
    })
}

fn no_match(field: &str) -> ApiError {
    ApiError::new(
        ErrorType::NoMatchForProvidedMagicLinkUrl,
        format!("The {field} did not match any redirect URLs set for this project."),
    )
}

fn is_local(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && matches!(url.host_str(), Some("localhost" | "127.0.0.1"))
}

/// Same scheme, host, port and path: the application's query may differ.
fn same_target(registered: &Url, requested: &Url) -> bool {
    registered.scheme() == requested.scheme()
        && registered.host_str() == requested.host_str()
        && registered.port_or_known_default() == requested.port_or_known_default()
        && registered.path() == requested.path()
}

/// `url` with `stytch_token_type` and `token` added to its query.
pub fn link(url: &Url, token_type: &str, token: &str) -> String {
    let mut url = url.clone();
    url.query_pairs_mut()
        .append_pair("stytch_token_type", token_type)
        .append_pair("token", token);
    url.into()
}

/// Whom a send is for, as the request says.
pub enum Recipient {
    /// An existing user holding the destination (`send`, `reset/start`).
    Existing,
    /// The holder, or a new user (`login_or_create`).
    LoginOrCreate { pending: bool },
    /// This user, who gets the destination unverified if it lacks it (`send` with a user or
    /// session).
    User(UserId),
    /// A new pending user, or the pending user invited before (`invite`).
    Invite {
        name: Name,
        trusted_metadata: Map<String, Value>,
        untrusted_metadata: Map<String, Value>,
    },
}

/// Whether the message goes to someone signing up (a new or pending user) or logging in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Signup,
    Login,
}

/// What a prepared message carries: the issued secret, and the message (`None`: deliver
/// nothing, for a sandbox destination).
pub struct Prepared {
    pub issue: Issue,
    /// A second link the message carries.
    pub also: Option<Issue>,
    pub message: Option<(String, MessageContent)>,
}

/// Sends to `destination` for `recipient`: `prepare` makes the secret and the message once it
/// is known whether the recipient signs up or logs in. The store does it all in one
/// transaction; a user created meanwhile by a concurrent request is looked up again, once.
pub async fn send(
    state: &AppState,
    project: &ProjectRecord,
    channel: Channel,
    destination: Destination,
    recipient: Recipient,
    mut prepare: impl FnMut(Audience) -> Result<Prepared, ApiError>,
    now: DateTime<Utc>,
) -> Result<Sent, ApiError> {
    let project_id = &project.project_id;
    let sandboxed = is_sandbox(project, &destination);
    // A sandbox destination always has its user: made on the first send that needs it.
    let recipient = match recipient {
        Recipient::Existing if sandboxed => Recipient::LoginOrCreate { pending: false },
        other => other,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let holder = state.store.holder(project_id, &destination).await?;
        let new_user = |pending: bool, name: Name, trusted, untrusted| {
            let (email, phone_number) = match &destination {
                Destination::Email(email) => (Some(email.clone()), None),
                Destination::Phone(phone) => (None, Some(phone.clone())),
            };
            SendTarget::Create(NewUser {
                email,
                email_verified: false,
                phone_number,
                phone_verified: false,
                name,
                pending,
                trusted_metadata: trusted,
                untrusted_metadata: untrusted,
                external_id: None,
                roles: Vec::new(),
            })
        };
        let (target, audience) = match (&recipient, holder) {
            (Recipient::User(user_id), _) => (SendTarget::User(user_id.clone()), Audience::Login),
            (_, Some(holder)) if matches!(recipient, Recipient::Invite { .. }) => {
                if holder.status != UserStatus::Pending {
                    return Err(StoreError::Conflict(destination.duplicate()).into());
                }
                (SendTarget::Holder(holder.user_id), Audience::Signup)
            }
            (_, Some(holder)) => {
                let audience = match holder.status {
                    UserStatus::Pending => Audience::Signup,
                    UserStatus::Active => Audience::Login,
                };
                (SendTarget::Holder(holder.user_id), audience)
            }
            (Recipient::Existing, None) => {
                return Err(StoreError::NotFound(destination.missing()).into())
            }
            (Recipient::LoginOrCreate { pending }, None) => (
                new_user(*pending, Name::default(), Map::new(), Map::new()),
                Audience::Signup,
            ),
            (
                Recipient::Invite {
                    name,
                    trusted_metadata,
                    untrusted_metadata,
                },
                None,
            ) => (
                new_user(
                    true,
                    name.clone(),
                    trusted_metadata.clone(),
                    untrusted_metadata.clone(),
                ),
                Audience::Signup,
            ),
        };
        let prepared = prepare(audience)?;
        let message: Option<NewMessage> = match prepared.message {
            Some((subject, content)) if !sandboxed => Some(state.delivery.compose(
                &state.vault,
                project_id,
                channel,
                destination.as_str(),
                subject,
                &content,
            )),
            _ => None,
        };
        let queued = message.is_some();
        let sent = state
            .store
            .start_passwordless(
                project_id,
                PasswordlessSend {
                    destination: destination.clone(),
                    target,
                    issue: prepared.issue,
                    also: prepared.also,
                    message,
                },
                &state.delivery.limits,
                now,
            )
            .await;
        match sent {
            Ok(sent) => {
                if queued {
                    state.delivery.queued();
                }
                return Ok(sent);
            }
            Err(StoreError::Conflict(_))
                if tries < 2 && !matches!(recipient, Recipient::User(_)) =>
            {
                continue
            }
            Err(StoreError::Refused(Refusal::Throttled(throttled))) => {
                return Err(ApiError::new(
                    ErrorType::TooManyRequests,
                    "Too many requests have been made.",
                )
                .retry_after(throttled.retry_after_seconds))
            }
            Err(error) => return Err(error.into()),
        }
    }
}
