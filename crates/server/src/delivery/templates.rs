//! The messages: login, sign-up, invite, passcode and password reset, in the project's own
//! wording when it set one (core `delivery::Template`, `latchkey project template`) and in
//! Latchkey's defaults otherwise. Each email has a plain-text part, with the full link or the
//! six-digit code on a line of its own, and an HTML part; SMS and WhatsApp carry the code in a
//! short text.

use latchkey_core::delivery::{MessageContent, Template, TemplateValues};
use latchkey_core::magic_links::LinkPurpose;

use latchkey_core::delivery::escape_html as escape;

fn html_page(title: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif\">\n{body}</body></html>\n",
        escape(title)
    )
}

fn button(link: &str, label: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(link), escape(label))
}

fn lifetime(minutes: i64) -> String {
    match minutes {
        m if m % 1440 == 0 && m >= 1440 => {
            let days = m / 1440;
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
        m if m % 60 == 0 && m >= 60 => {
            let hours = m / 60;
            format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
        }
        m => format!("{m} minute{}", if m == 1 { "" } else { "s" }),
    }
}

/// A magic link of `purpose` for the project `project_name`: the subject and the content.
pub fn magic_link(
    project_name: &str,
    purpose: LinkPurpose,
    link: &str,
    minutes: i64,
    custom: Option<&Template>,
) -> (String, MessageContent) {
    if let Some(template) = custom {
        return template.render(&TemplateValues {
            project_name,
            minutes,
            secret: link,
            login_link: None,
        });
    }
    let (subject, intro, label) = match purpose {
        LinkPurpose::Signup => (
            format!("Finish signing up for {project_name}"),
            format!("Welcome to {project_name}! Open this link to finish signing up:"),
            "Finish signing up",
        ),
        LinkPurpose::Invite => (
            format!("You have been invited to {project_name}"),
            format!("You have been invited to {project_name}. Open this link to accept:"),
            "Accept the invitation",
        ),
        _ => (
            format!("Your login link for {project_name}"),
            format!("Open this link to log in to {project_name}:"),
            "Log in",
        ),
    };
    let life = lifetime(minutes);
    let text = format!(
        "{intro}\n\n{link}\n\nThe link works once and expires in {life}. If you did not ask for it, \
         you can ignore this email.\n"
    );
    let html = html_page(
        &subject,
        &[
            escape(&intro),
            button(link, label),
            escape(&format!(
                "The link works once and expires in {life}. If you did not ask for it, you can \
                 ignore this email."
            )),
        ],
    );
    (
        subject,
        MessageContent {
            text,
            html: Some(html),
        },
    )
}

/// A passcode by email.
pub fn otp_email(
    project_name: &str,
    code: &str,
    minutes: i64,
    custom: Option<&Template>,
) -> (String, MessageContent) {
    if let Some(template) = custom {
        return template.render(&TemplateValues {
            project_name,
            minutes,
            secret: code,
            login_link: None,
        });
    }
    let subject = format!("Your {project_name} passcode");
    let life = lifetime(minutes);
    let text = format!(
        "Your passcode for {project_name} is:\n\n{code}\n\nIt expires in {life}. Never share it.\n"
    );
    let html = html_page(
        &subject,
        &[
            escape(&format!("Your passcode for {project_name} is:")),
            format!(
                "<strong style=\"font-size: 1.5em\">{}</strong>",
                escape(code)
            ),
            escape(&format!("It expires in {life}. Never share it.")),
        ],
    );
    (
        subject,
        MessageContent {
            text,
            html: Some(html),
        },
    )
}

/// A passcode by SMS or WhatsApp.
pub fn otp_text(
    project_name: &str,
    code: &str,
    minutes: i64,
    custom: Option<&Template>,
) -> MessageContent {
    if let Some(template) = custom {
        let (_, content) = template.render(&TemplateValues {
            project_name,
            minutes,
            secret: code,
            login_link: None,
        });
        return MessageContent {
            text: content.text,
            html: None,
        };
    }
    MessageContent {
        text: format!("Your {project_name} passcode is {code}. Never share it."),
        html: None,
    }
}

/// A password reset link, with the one-click login link when the application gave one.
pub fn reset_password(
    project_name: &str,
    reset_link: &str,
    login_link: Option<&str>,
    minutes: i64,
    custom: Option<&Template>,
) -> (String, MessageContent) {
    if let Some(template) = custom {
        return template.render(&TemplateValues {
            project_name,
            minutes,
            secret: reset_link,
            login_link,
        });
    }
    let subject = format!("Reset your {project_name} password");
    let life = lifetime(minutes);
    let mut text = format!(
        "Open this link to choose a new password for {project_name}:\n\n{reset_link}\n\n\
         The link works once and expires in {life}.\n"
    );
    let mut paragraphs = vec![
        escape(&format!(
            "Open this link to choose a new password for {project_name}:"
        )),
        button(reset_link, "Reset your password"),
        escape(&format!("The link works once and expires in {life}.")),
    ];
    if let Some(login_link) = login_link {
        text.push_str(&format!(
            "\nOr log in without a password:\n\n{login_link}\n"
        ));
        paragraphs.push(escape("Or log in without a password:"));
        paragraphs.push(button(login_link, "Log in without a password"));
    }
    text.push_str("\nIf you did not ask for this, you can ignore this email.\n");
    paragraphs.push(escape(
        "If you did not ask for this, you can ignore this email.",
    ));
    let html = html_page(&subject, &paragraphs);
    (
        subject,
        MessageContent {
            text,
            html: Some(html),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_part_carries_the_whole_link_and_the_html_escapes_it() {
        let link = "http://localhost:3000/a?x=1&stytch_token_type=magic_links&token=abc";
        let (_, content) = magic_link("Acme", LinkPurpose::Login, link, 60, None);
        assert!(content.text.lines().any(|line| line == link));
        let html = content.html.unwrap_or_default();
        assert!(html.contains("x=1&amp;stytch_token_type"));
        assert!(content.text.contains("1 hour"));
    }

    #[test]
    fn a_passcode_stands_on_a_line_of_its_own() {
        let (_, content) = otp_email("Acme", "012345", 2, None);
        let six: Vec<&str> = content
            .text
            .lines()
            .filter(|line| line.len() == 6 && line.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert_eq!(six, ["012345"]);
    }
}
