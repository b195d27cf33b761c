//! Latchkey's HTTP conformance suite: every test drives a real server over a socket, the way
//! clients do, and runs once per storage engine (SQLite and PostgreSQL).
//!
//! PostgreSQL comes from `LATCHKEY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it is unreachable the PostgreSQL tests fail;
//! only an explicit `LATCHKEY_SKIP_POSTGRES=1` turns them into no-ops, and CI never sets it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod b2b_login;
mod b2b_totps;
mod contact_channels;
mod crafted_passwords;
mod hash_queue;
mod helpers;
mod http_conventions;
mod isolation;
mod lockout;
mod logs;
mod magic_links;
mod members;
mod openapi;
mod operations;
mod organizations;
mod ownership;
mod passwordless;
mod passwords;
mod search_bounds;
mod secrets_at_rest;
mod sessions;
mod slow_clients;
mod totps;
mod users;
mod users_search;
