//! spec/06-server.md, 6.6: malformed and hostile requests get a 4xx (or a
//! closed connection), never reach the app, and never stop the server.

mod support;

use gateway::{Body, Environ, Response};
use support::hello;

#[tokio::test]
async fn spec_6_6_malformed_request_gets_400_and_server_keeps_serving() {
    let addr = support::spawn_server(hello).await;
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, bad).await;
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 400"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("Hello, World!"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_a_missing_doubled_or_bad_host_gets_400() {
    let addr = support::spawn_server(hello).await;
    for bad in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, bad).await;
        assert!(
            (reply.starts_with("HTTP/1.1 400") || reply.starts_with("HTTP/1.0 400"))
                && reply.contains("connection: close"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(reply.contains("Host"), "the page says why: {reply}");
    }
    // HTTP/1.0 may leave it out; an empty one, a port and an IPv6 literal
    // are fine.
    for good in [
        &b"GET / HTTP/1.0\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]:7000\r\nConnection: close\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, good).await;
        assert!(
            reply.ends_with("Hello, World!"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(good)
        );
    }
}

#[tokio::test]
async fn spec_6_6_content_length_with_transfer_encoding_closes_the_connection() {
    // RFC 9112 6.3: Transfer-Encoding wins and the connection must not be
    // reused, so nothing can be smuggled behind the body.
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("served {}", env.path_info())))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 400") || reply.contains("connection: close"),
        "{reply}"
    );
    assert!(!reply.contains("served /smuggled"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_bad_chunked_body_never_lets_a_smuggled_request_through() {
    let addr = support::spawn_server(|mut env: Environ| async move {
        let path = env.path_info().to_owned();
        let body = env.take_body().collect(1 << 20).await;
        Response::new(Body::from(format!(
            "served {path} body_ok={}",
            body.is_ok()
        )))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(!reply.contains("served /smuggled"), "{reply}");
    assert!(!reply.contains("body_ok=true"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_hostile_input_matrix_never_stops_the_server() {
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("path {}", env.uri().path())))
    })
    .await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100 << 10));
    let mut random = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        // xorshift: deterministic noise.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("absurdly long URI", long_uri.into_bytes()),
        ("non-UTF-8 path", b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("NUL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec()),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n".to_vec()),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec()),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec()),
        ("unknown version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
        ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec()),
        ("huge Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec()),
        ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n".to_vec()),
        ("HTTP/2 garbage after the preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec()),
        ("TLS hello on a plain port", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec()),
        ("random bytes", random),
    ];
    for (name, bytes) in cases {
        let reply = support::raw_exchange(addr, &bytes).await;
        // An HTTP/2 preface gets HTTP/2 frames back (SETTINGS, then GOAWAY).
        let h2 = reply.starts_with("\0\0") && name.starts_with("HTTP/2");
        assert!(
            h2 || reply.is_empty()
                || reply.starts_with("HTTP/1.1 4")
                || reply.starts_with("HTTP/1.0 4")
                || reply.starts_with("HTTP/1.1 200"),
            "{name}: {reply:?}"
        );
        if reply.starts_with("HTTP/1.1 200") {
            // Accepted as valid HTTP: must then be the app's own answer.
            assert!(reply.contains("path /"), "{name}: {reply:?}");
        }
        let ok = support::raw_exchange(
            addr,
            b"GET /alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(ok.ends_with("path /alive"), "after {name}: {ok:?}");
    }
}
