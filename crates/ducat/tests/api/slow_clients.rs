//! A slow client cannot hold a connection: headers must arrive within
//! `header_read_timeout_secs` and a request (its body included) must complete within
//! `request_timeout_secs`, while everyone else is served as usual.

use crate::both_engines;
use crate::helpers::{spawn_app_with, Auth, Engine, TestApp};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_engines!(
    trickled_headers_get_the_connection_closed,
    a_stalled_body_is_answered_408_and_closed
);

/// Far longer than either limit below: reaching it means the server kept the connection.
const GIVE_UP: Duration = Duration::from_secs(20);

async fn app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |config| {
        config.header_read_timeout_secs = 1;
        config.request_timeout_secs = 2;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection; panics if it never does.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(GIVE_UP, stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "the server kept a stalled connection open; it sent {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

async fn trickled_headers_get_the_connection_closed(engine: Engine) {
    let Some(app) = app(engine).await else {
        return;
    };
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: ducat\r\nX-Slow: ")
            .await
            .unwrap();
        stalled.push(stream);
    }
    // Others are served while those connections hang.
    assert_eq!(
        app.get("/healthz", &Auth::None).await.status,
        StatusCode::OK
    );
    for mut stream in stalled {
        let answer = read_until_closed(&mut stream).await;
        assert!(
            !answer.contains("200 OK"),
            "an unfinished request was answered: {answer}"
        );
    }
    assert_eq!(
        app.get("/healthz", &Auth::None).await.status,
        StatusCode::OK
    );
    app.finish().await;
}

async fn a_stalled_body_is_answered_408_and_closed(engine: Engine) {
    let Some(app) = app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /v1/checkout/ HTTP/1.1\r\nHost: ducat\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"amount\": 1",
        business.secret_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a stalled body must time out: {answer:?}"
    );
    app.finish().await;
}
