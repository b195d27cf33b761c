//! Slow clients (issue 20, item 2): a client that drips its request head or body a byte at a
//! time is cut off at the header or body deadline, however steadily it drips, and requests of
//! other clients keep being served even when the slow ones outnumber the connection bound.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use latchkey_server::operations::Limits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_engines;
use crate::helpers::{spawn_app_with, Engine, TestApp};

const MAX_CONNECTIONS: usize = 8;
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Far less than either deadline: a deadline that restarted on every byte would never fire.
const DRIP_EVERY: Duration = Duration::from_millis(250);

fn limits() -> Limits {
    Limits {
        max_connections: MAX_CONNECTIONS,
        header_read_timeout: HEADER_TIMEOUT,
        body_read_timeout: BODY_TIMEOUT,
        ..Limits::default()
    }
}

/// What the server did with a dripping connection: how long after connecting it closed it, and
/// what it answered before.
struct Dripped {
    held_for: Duration,
    answer: String,
}

/// Connects, sends `start` at once, then one byte of `drip` every [`DRIP_EVERY`] (forever, as
/// `drip` repeats) until the server closes the connection, or `give_up` passes.
async fn drip(
    address: SocketAddr,
    start: String,
    drip: &'static [u8],
    give_up: Duration,
) -> Dripped {
    let connected = Instant::now();
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(start.as_bytes()).await.unwrap();
    let dripping = tokio::spawn(async move {
        for byte in drip.iter().cycle() {
            tokio::time::sleep(DRIP_EVERY).await;
            if writer.write_all(&[*byte]).await.is_err() {
                return; // the server closed the connection
            }
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(give_up, async {
        let mut buffer = [0u8; 4096];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    dripping.abort();
    assert!(
        read.is_ok(),
        "a dripping connection was still open after {give_up:?}"
    );
    Dripped {
        held_for: connected.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

fn address(app: &TestApp) -> SocketAddr {
    app.base_url.trim_start_matches("http://").parse().unwrap()
}

async fn slow_clients_are_cut_off_and_others_are_served(engine: Engine) {
    let app = spawn_app_with(engine, limits()).await;
    let address = address(&app);
    let give_up = Duration::from_secs(20);
    // Twice as many header drippers as the server keeps connections: those past the bound wait
    // in the listen queue, behind the first ones, until those are cut off.
    let header_drippers: Vec<_> = (0..2 * MAX_CONNECTIONS)
        .map(|_| {
            tokio::spawn(drip(
                address,
                "GET /healthz HTTP/1.1\r\nHost: latchkey\r\nX-Slow: ".to_owned(),
                b"slowly",
                give_up,
            ))
        })
        .collect();
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.project_id, app.secret));
    let body_drippers: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(drip(
                address,
                format!(
                    "POST /v1/users/search HTTP/1.1\r\nHost: latchkey\r\n\
                     Authorization: Basic {credentials}\r\nContent-Type: application/json\r\n\
                     Content-Length: 1000\r\n\r\n{{"
                ),
                b" ",
                give_up,
            ))
        })
        .collect();
    // Meanwhile other clients are served, on fresh connections, each within seconds.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let patient = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..3 {
        let healthz = patient
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await
            .expect("/healthz was not answered while slow clients dripped");
        assert_eq!(healthz.text().await.unwrap(), "ok");
        let search = patient
            .post(format!("{}/v1/users/search", app.base_url))
            .basic_auth(app.project_id.as_str(), Some(&app.secret))
            .json(&json!({}))
            .send()
            .await
            .expect("a search was not answered while slow clients dripped");
        assert_eq!(search.status(), 200);
    }
    for dripper in header_drippers {
        let dripped = dripper.await.unwrap();
        // Cut off without an answer: the request never began.
        assert!(
            !dripped.answer.contains("200 OK"),
            "a request whose head never ended was answered: {}",
            dripped.answer
        );
        assert!(dripped.held_for < give_up);
    }
    for dripper in body_drippers {
        let dripped = dripper.await.unwrap();
        assert!(
            dripped.answer.starts_with("HTTP/1.1 408"),
            "{}",
            dripped.answer
        );
        assert!(
            dripped
                .answer
                .contains("\"error_type\":\"request_body_timeout\""),
            "{}",
            dripped.answer
        );
        assert!(dripped
            .answer
            .to_ascii_lowercase()
            .contains("connection: close"));
        // Answered at the body deadline, not at the request timeout (30 s).
        assert!(dripped.held_for >= BODY_TIMEOUT, "{:?}", dripped.held_for);
        assert!(
            dripped.held_for < Duration::from_secs(10),
            "{:?}",
            dripped.held_for
        );
    }
}

/// A body that arrives in time, even in pieces, is read whole.
async fn a_body_sent_in_pieces_within_the_deadline_is_served(engine: Engine) {
    let app = spawn_app_with(engine, limits()).await;
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.project_id, app.secret));
    let body = b"{\"limit\": 5}";
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = format!(
        "POST /v1/users/search HTTP/1.1\r\nHost: latchkey\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(4) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(piece).await.unwrap();
    }
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

both_engines!(
    slow_clients_are_cut_off_and_others_are_served,
    a_body_sent_in_pieces_within_the_deadline_is_served,
);
