//! Every statement that touches project data filters on `project_id`.
//!
//! This test reads the SQL modules (`src/sql/*.rs`, every file there, so a new module is covered
//! the day it is added), takes each string literal that starts a statement, and checks it:
//! - a `SELECT`, `UPDATE` or `DELETE` has at least one `project_id =` (or `IN`) predicate for each
//!   project table it reads from or writes to (`FROM`/`UPDATE`, so every subquery and every
//!   `UNION ALL` branch is scoped on its own; a `JOIN` rides on a scoped row's key);
//! - an `INSERT` into a project table writes its `project_id` column;
//! - a statement built with `QueryBuilder` may leave its predicate to a scoping helper, when the
//!   line right after the builder's seed calls one, and each scoping helper binds the project
//!   first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

/// Every table whose rows belong to a project (all but `server_settings`).
const PROJECT_TABLES: [&str; 28] = [
    "authentication_attempts",
    "biometric_registrations",
    "crypto_wallets",
    "discovery_otp_codes",
    "email_verification_codes",
    "intermediate_sessions",
    "magic_links",
    "member_magic_links",
    "member_otp_codes",
    "member_sessions",
    "member_totps",
    "members",
    "message_templates",
    "oauth_registrations",
    "organizations",
    "otp_codes",
    "outbox",
    "passwords",
    "projects",
    "redirect_urls",
    "sessions",
    "signing_keys",
    "totps",
    "user_emails",
    "user_phone_numbers",
    "user_roles",
    "users",
    "webauthn_registrations",
];

/// The functions that write a statement's project predicate into a `QueryBuilder`.
const SCOPING_HELPERS: [&str; 3] = [
    "push_search_conditions",
    "push_organization_filter",
    "push_member_filter",
];

/// Statements that are about every project by design, each with the reason.
const ACROSS_PROJECTS: [(&str, &str); 2] = [
    (
        "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY",
        "`latchkey project list`: the operator's list of every project",
    ),
    (
        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1, claim_id = $4 WHERE message_id IN",
        "the delivery worker claims due messages of every project; it records each outcome \
         by project and message",
    ),
];

/// One string literal of a source file: its text (escapes and line continuations resolved as
/// far as SQL needs) and the line it starts on.
struct Literal {
    text: String,
    line: usize,
    /// Byte offset of the literal's opening quote.
    start: usize,
}

fn literals(source: &str) -> Vec<Literal> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            // A char literal such as '"' or '\''; lifetimes ('a) never close on the next char
            // but one, so they are skipped as plain text.
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 3,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') && bytes.get(i + 3) == Some(&b'\'') => i += 4,
            b'"' => {
                let start = i;
                let line = source[..i].matches('\n').count() + 1;
                let mut text = String::new();
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        match bytes.get(i + 1) {
                            // A line continuation: the newline and the next line's indentation
                            // vanish.
                            Some(b'\n') => {
                                i += 2;
                                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                                    i += 1;
                                }
                                continue;
                            }
                            Some(&escaped) => {
                                text.push(escaped as char);
                                i += 2;
                                continue;
                            }
                            None => break,
                        }
                    }
                    let ch = source[i..].chars().next().unwrap();
                    text.push(ch);
                    i += ch.len_utf8();
                }
                i += 1;
                found.push(Literal { text, line, start });
            }
            _ => i += 1,
        }
    }
    found
}

fn is_statement(text: &str) -> bool {
    let head = text.trim_start();
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
        .iter()
        .any(|keyword| head.starts_with(keyword))
}

/// The words of `text`, split at everything that cannot be part of an SQL identifier.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect()
}

/// How many project tables `text` reads from or updates (`FROM t`, `UPDATE t`), and whether it
/// inserts into one.
fn table_references(text: &str) -> (usize, bool) {
    let words = words(text);
    let mut reads = 0;
    let mut inserts = false;
    for pair in words.windows(2) {
        if !PROJECT_TABLES.contains(&pair[1]) {
            continue;
        }
        match pair[0] {
            "FROM" | "UPDATE" => reads += 1,
            "INTO" => inserts = true,
            _ => {}
        }
    }
    (reads, inserts)
}

/// How many `project_id = …` / `project_id IN …` predicates `text` holds.
fn project_predicates(text: &str) -> usize {
    text.match_indices("project_id")
        .filter(|(at, _)| {
            let rest = text[at + "project_id".len()..].trim_start();
            rest.starts_with('=') || rest.starts_with("IN ") || rest.starts_with("IN(")
        })
        .count()
}

/// Whether the literal seeds a `QueryBuilder` whose next line hands it to a scoping helper.
fn scoped_by_helper(source: &str, literal: &Literal) -> bool {
    let line_start = source[..literal.start].rfind('\n').map_or(0, |at| at + 1);
    let seed_line = &source[line_start..];
    let seed_line = &seed_line[..seed_line.find('\n').unwrap_or(seed_line.len())];
    // `let mut q =\n    QueryBuilder::<Db>::new(...)` puts the builder on the literal's line.
    if !seed_line.contains("QueryBuilder") {
        return false;
    }
    let after = &source[line_start + seed_line.len()..];
    let next = after
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    SCOPING_HELPERS
        .iter()
        .any(|helper| next.starts_with(&format!("{helper}(")))
}

fn sql_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/sql");
    let mut sources: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    sources.sort();
    assert!(sources.len() >= 10, "expected the SQL modules in {dir:?}");
    sources
}

/// The problems of one source file's statements.
fn unscoped(name: &str, source: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for literal in literals(source) {
        if !is_statement(&literal.text) {
            continue;
        }
        if ACROSS_PROJECTS
            .iter()
            .any(|(start, _)| literal.text.starts_with(start))
        {
            continue;
        }
        let (reads, inserts) = table_references(&literal.text);
        let insert_ok = !inserts || words(&literal.text).contains(&"project_id");
        let reads_ok = project_predicates(&literal.text) >= reads;
        if insert_ok && (reads_ok || scoped_by_helper(source, &literal)) {
            continue;
        }
        problems.push(format!(
            "{name}:{}: {}",
            literal.line,
            literal.text.chars().take(120).collect::<String>()
        ));
    }
    problems
}

#[test]
fn every_statement_filters_on_its_project() {
    let sources = sql_sources();
    let mut statements = 0;
    let mut problems = Vec::new();
    for (name, source) in &sources {
        statements += literals(source)
            .iter()
            .filter(|l| is_statement(&l.text))
            .count();
        problems.extend(unscoped(name, source));
    }
    assert!(statements > 80, "found only {statements} statements");
    assert!(
        problems.is_empty(),
        "statements without a project_id filter:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_scoping_helper_binds_the_project_first() {
    let sources = sql_sources();
    for helper in SCOPING_HELPERS {
        let (_, source) = sources
            .iter()
            .find(|(_, source)| source.contains(&format!("fn {helper}")))
            .unwrap_or_else(|| panic!("scoping helper {helper} not found"));
        let body = &source[source.find(&format!("fn {helper}")).unwrap()..];
        let first_push = body.find(".push(").expect("a push");
        let first_bind = body.find(".push_bind(").expect("a bind");
        let predicate = &body[first_push..first_bind];
        assert!(
            predicate.contains("project_id = ") || predicate.contains("SELECTIVE_PROJECT_COLUMN"),
            "{helper} must start with the project predicate"
        );
        assert!(
            body[first_bind..].starts_with(".push_bind(project"),
            "{helper} must bind the project first"
        );
    }
}

#[test]
fn the_check_catches_an_unscoped_statement() {
    let source = r#"
        sqlx::query("UPDATE user_emails SET is_primary = FALSE WHERE user_id = $1")
        sqlx::query("SELECT (SELECT COUNT(*) FROM totps WHERE project_id = $1) \
             + (SELECT COUNT(*) FROM passwords WHERE user_id = $2)")
        sqlx::query("INSERT INTO outbox (message_id, body) VALUES ($1, $2)")
        let mut q = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM users u");
        q.push(" WHERE u.user_id = ");
        sqlx::query("SELECT user_id FROM users WHERE project_id = $1 AND email = $2")
        let mut q = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM members m");
        push_member_filter(&mut q, project, organizations, filter);
    "#;
    let problems = unscoped("example.rs", source);
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

/// Tables that hold no project's rows, each with the reason.
const NOT_PROJECT_TABLES: [(&str, &str); 1] = [(
    "server_settings",
    "the server's own check value for its secrets key, one row per database",
)];

/// The tables the migrations of `engine` create: name and body.
fn migrated_tables(engine: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    let mut tables = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let sql = std::fs::read_to_string(&file).unwrap();
        for piece in sql.split("CREATE TABLE ").skip(1) {
            let piece = piece.trim_start_matches("IF NOT EXISTS ");
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let body = piece.split(");").next().unwrap_or(piece).to_owned();
            // A table built to replace another (SQLite rebuilds a table to drop a constraint)
            // is that table once renamed.
            let renamed = format!("ALTER TABLE {name} RENAME TO ");
            let name = match sql.split(&renamed).nth(1) {
                Some(rest) => rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
                None => name,
            };
            tables.push((name, body));
        }
    }
    tables
}

/// The list the statement check works from is the migrations' own: a table with a
/// `project_id` column is a project table, a new table cannot be left out, and a table without
/// one must say why.
#[test]
fn every_migrated_table_is_classified() {
    for engine in ["sqlite", "postgres"] {
        let tables = migrated_tables(engine);
        assert!(tables.len() >= PROJECT_TABLES.len(), "{engine}: {tables:?}");
        for (name, body) in &tables {
            let scoped = words(body).contains(&"project_id");
            if PROJECT_TABLES.contains(&name.as_str()) {
                assert!(
                    scoped,
                    "{engine}: project table {name} has no project_id column"
                );
            } else {
                assert!(
                    NOT_PROJECT_TABLES.iter().any(|(table, _)| table == name),
                    "{engine}: table {name} is neither a project table nor explained \
                     (project_id column: {scoped})"
                );
            }
        }
        for table in PROJECT_TABLES {
            assert!(
                tables.iter().any(|(name, _)| name == table),
                "{engine}: {table} is not created by any migration"
            );
        }
    }
}
