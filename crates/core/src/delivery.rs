//! The rules of delivering messages (magic links, one-time passcodes, reset links, verification
//! codes): the channels, the per-destination, per-user and per-project send limits, the retry
//! schedule of the delivery worker, Stytch's sandbox destinations, and the content a message is
//! sealed with at rest.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::contact_channels::Throttled;

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
    WhatsApp,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::WhatsApp];

    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::WhatsApp => "whatsapp",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == name)
    }
}

/// How many messages may be queued within a sliding window: to one destination (an email
/// address or phone number, whoever asks, so no one can flood a victim's inbox or run up an SMS
/// bill), for one user, and for one project. The store counts the queued messages in the
/// sending transaction, so the limits hold across concurrent requests and across replicas on
/// one PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    pub window: TimeDelta,
    pub per_destination: u64,
    pub per_user: u64,
    pub per_project: u64,
}

/// Latchkey's defaults, a minute's worth: 10 to one destination (a person retrying may send
/// twice within a second), 1,000 for one user and 10,000 for one project.
pub const DEFAULT_SEND_LIMITS: SendLimits = SendLimits {
    window: TimeDelta::minutes(1),
    per_destination: 10,
    per_user: 1_000,
    per_project: 10_000,
};

/// Sends counted within a window: how many, and the oldest one's time.
pub type Count = (u64, Option<DateTime<Utc>>);

/// The sends counted within the window, per limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub to_destination: Count,
    pub by_user: Count,
    pub by_project: Count,
}

impl SendLimits {
    /// The start of the window that ends at `now`: sends after it count.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }

    /// Whether one more message may be queued at `now`; if not, how long until the oldest
    /// counted send of a full count leaves the window (at least a second).
    pub fn check(&self, counts: &SendCounts, now: DateTime<Utc>) -> Result<(), Throttled> {
        check_window(
            self.window,
            &[
                (counts.to_destination, self.per_destination),
                (counts.by_user, self.per_user),
                (counts.by_project, self.per_project),
            ],
            now,
        )
    }
}

/// Whether one more send may go out at `now` given, for each limit, the sends counted in the
/// sliding `window` (how many, the oldest one's time) and the limit. When one may not, the wait
/// is until the oldest counted send of a full count leaves the window (the store never lets a
/// count pass its limit, so one leaving is enough); at least a second.
pub fn check_window(
    window: TimeDelta,
    counts: &[(Count, u64)],
    now: DateTime<Utc>,
) -> Result<(), Throttled> {
    let retry_after_seconds = counts
        .iter()
        .filter(|((sent, _), limit)| sent >= limit)
        .map(|((_, oldest), _)| {
            let free_at = oldest.unwrap_or(now) + window;
            let millis = (free_at - now).num_milliseconds().max(0).unsigned_abs();
            millis.div_ceil(1000).max(1)
        })
        .max();
    match retry_after_seconds {
        Some(retry_after_seconds) => Err(Throttled {
            retry_after_seconds,
        }),
        None => Ok(()),
    }
}

/// How many times the worker tries a message before it is `failed`.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 8;

/// How long a worker holds a claimed message before another may take it (a worker that died
/// mid-send loses its claim).
pub const CLAIM_SECONDS: i64 = 60;

/// The wait before the next try of a message that failed `attempts` times: 5 s doubling, at
/// most 20 minutes (eight tries span about ten minutes).
pub fn retry_delay(attempts: u32) -> TimeDelta {
    let seconds = 5_i64.saturating_mul(1_i64 << attempts.min(10).saturating_sub(1));
    TimeDelta::seconds(seconds.min(20 * 60))
}

/// What a message says, sealed at rest since it carries a code or a link. Email has both parts;
/// SMS and WhatsApp only `text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl MessageContent {
    /// The vault context that seals the message `message_id` of `project`.
    pub fn context(project: &str, message_id: &str) -> String {
        format!("outbox:{project}:{message_id}")
    }
}

/// The messages a project may word its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    Login,
    Signup,
    Invite,
    /// A passcode, by email (subject, text, HTML) or by SMS and WhatsApp (the text).
    Otp,
    ResetPassword,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 5] = [
        TemplateKind::Login,
        TemplateKind::Signup,
        TemplateKind::Invite,
        TemplateKind::Otp,
        TemplateKind::ResetPassword,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Login => "login",
            TemplateKind::Signup => "signup",
            TemplateKind::Invite => "invite",
            TemplateKind::Otp => "otp",
            TemplateKind::ResetPassword => "reset_password",
        }
    }

    pub fn parse(name: &str) -> Option<TemplateKind> {
        TemplateKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The placeholder the text must carry: the link, or the code on a line of its own.
    fn required(self) -> &'static str {
        match self {
            TemplateKind::Otp => "{{code}}",
            _ => "{{link}}",
        }
    }
}

/// A project's wording of one kind of message. Placeholders: `{{project_name}}`,
/// `{{minutes}}` (the secret's life), `{{link}}` (links) or `{{code}}` (passcodes), and
/// `{{login_link}}` (a reset mail's login link, empty when there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Why a template is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the text must carry {0} (for a passcode, on a line of its own)")]
    MissingPlaceholder(&'static str),
    #[error("a template is at most 64 KiB")]
    TooLong,
    #[error("the subject must be one line")]
    Subject,
}

/// The values a template is filled with.
pub struct TemplateValues<'a> {
    pub project_name: &'a str,
    pub minutes: i64,
    /// The link, or the code.
    pub secret: &'a str,
    pub login_link: Option<&'a str>,
}

impl Template {
    /// A template fit for `kind`: its text carries the link, or the code on a line of its own,
    /// so every message keeps what the user needs in plain text.
    pub fn new(
        kind: TemplateKind,
        subject: String,
        text: String,
        html: Option<String>,
    ) -> Result<Template, TemplateError> {
        let size = subject.len() + text.len() + html.as_ref().map_or(0, String::len);
        if size > 64 * 1024 {
            return Err(TemplateError::TooLong);
        }
        if subject.contains(['\r', '\n']) {
            return Err(TemplateError::Subject);
        }
        let carried = match kind {
            TemplateKind::Otp => text.lines().any(|line| line.trim() == "{{code}}"),
            _ => text.contains("{{link}}"),
        };
        if !carried {
            return Err(TemplateError::MissingPlaceholder(kind.required()));
        }
        Ok(Template {
            subject,
            text,
            html,
        })
    }

    /// The message: subject and text filled in as they are, the HTML with each value escaped.
    pub fn render(&self, values: &TemplateValues<'_>) -> (String, MessageContent) {
        let fill = |template: &str, escape: fn(&str) -> String| {
            let minutes = values.minutes.to_string();
            [
                ("{{project_name}}", values.project_name),
                ("{{minutes}}", minutes.as_str()),
                ("{{link}}", values.secret),
                ("{{code}}", values.secret),
                ("{{login_link}}", values.login_link.unwrap_or_default()),
            ]
            .iter()
            .fold(template.to_owned(), |text, (placeholder, value)| {
                text.replace(placeholder, &escape(value))
            })
        };
        let plain = |text: &str| text.to_owned();
        (
            fill(&self.subject, plain),
            MessageContent {
                text: fill(&self.text, plain),
                html: self.html.as_deref().map(|html| fill(html, escape_html)),
            },
        )
    }
}

/// `text` safe inside HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Stytch's sandbox values, answered by test projects only (never live ones): sends to these
/// destinations are accepted and deliver nothing.
pub mod sandbox {
    pub const EMAIL: &str = "sandbox@stytch.com";
    pub const PHONE_NUMBER: &str = "+10000000000";
    /// The passcode that authenticates a sandbox destination's method.
    pub const OTP_CODE: &str = "000000";
    /// The magic-link tokens that answer 200, 401 `unable_to_auth_magic_link` and 404
    /// `magic_link_not_found`.
    pub const MAGIC_LINK_SUCCESS: &str = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94=";
    pub const MAGIC_LINK_UNUSABLE: &str = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU=";
    pub const MAGIC_LINK_NOT_FOUND: &str = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM=";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_count_waits_for_its_oldest_send_to_leave_the_window() {
        let limits = DEFAULT_SEND_LIMITS;
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap_or_default();
        let quiet = SendCounts::default();
        assert_eq!(limits.check(&quiet, now), Ok(()));
        let under = SendCounts {
            to_destination: (9, Some(now)),
            ..SendCounts::default()
        };
        assert_eq!(limits.check(&under, now), Ok(()));
        let full = SendCounts {
            to_destination: (10, Some(now - TimeDelta::seconds(45))),
            ..SendCounts::default()
        };
        assert_eq!(
            limits.check(&full, now),
            Err(Throttled {
                retry_after_seconds: 15
            })
        );
        let project = SendCounts {
            by_project: (10_000, Some(now - TimeDelta::seconds(59))),
            ..SendCounts::default()
        };
        assert_eq!(
            limits.check(&project, now),
            Err(Throttled {
                retry_after_seconds: 1
            })
        );
    }

    #[test]
    fn the_default_limits_let_a_person_retry_and_stop_a_flood() {
        let limits = DEFAULT_SEND_LIMITS;
        assert!((5..40).contains(&limits.per_destination));
        assert!(limits.per_user >= 1_000 && limits.per_project >= 1_000);
        assert_eq!(limits.window, TimeDelta::minutes(1));
    }

    #[test]
    fn a_template_carries_its_secret_and_escapes_it_in_html() {
        let refused = Template::new(
            TemplateKind::Otp,
            "Code".into(),
            "Your code is {{code}}.".into(),
            None,
        );
        assert_eq!(refused, Err(TemplateError::MissingPlaceholder("{{code}}")));
        assert!(
            Template::new(TemplateKind::Login, "a\nb".into(), "{{link}}".into(), None).is_err()
        );
        let template = Template::new(
            TemplateKind::Login,
            "Log in to {{project_name}}".into(),
            "Go: {{link}} ({{minutes}} min)".into(),
            Some("<a href=\"{{link}}\">{{project_name}}</a>".into()),
        )
        .unwrap();
        let (subject, content) = template.render(&TemplateValues {
            project_name: "A&B",
            minutes: 60,
            secret: "https://x.example/?a=1&token=t",
            login_link: None,
        });
        assert_eq!(subject, "Log in to A&B");
        assert_eq!(content.text, "Go: https://x.example/?a=1&token=t (60 min)");
        assert_eq!(
            content.html.unwrap(),
            "<a href=\"https://x.example/?a=1&amp;token=t\">A&amp;B</a>"
        );
    }

    #[test]
    fn retries_back_off_to_a_ceiling() {
        assert_eq!(retry_delay(1), TimeDelta::seconds(5));
        assert_eq!(retry_delay(2), TimeDelta::seconds(10));
        assert_eq!(retry_delay(4), TimeDelta::seconds(40));
        assert_eq!(retry_delay(30), TimeDelta::minutes(20));
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
    }
}
