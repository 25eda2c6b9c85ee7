//! spec/01-environ.md: the request as an app sees it.

mod support;

use std::time::Duration;

use gateway::http::{Method, Request, Version};
use gateway::routing::Router;
use gateway::server::Limits;
use gateway::testing::TestClient;
use gateway::{Body, Environ, Response};

async fn echo_env(env: Environ) -> Response {
    Response::new(Body::from(format!(
        "{}|{}|{}|{}|{:?}",
        env.method(),
        env.script_name(),
        env.path_info(),
        env.query_string(),
        env.version()
    )))
}

#[tokio::test]
async fn spec_1_1_environ_carries_request_head() {
    let client = TestClient::new(|env: Environ| async move {
        let ua = env
            .headers()
            .get("x-test")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        Response::new(Body::from(format!(
            "{} {} {:?} {}",
            env.method(),
            env.uri(),
            env.version(),
            ua
        )))
    });
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/a/b?c=d")
        .header("x-test", "yes")
        .body(Body::empty())
        .unwrap();
    let res = client.request(req).await;
    assert_eq!(res.text(), "PUT /a/b?c=d HTTP/1.1 yes");
}

#[tokio::test]
async fn spec_1_1_remote_and_local_addr_over_tcp() {
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!(
            "{}|{}|{}",
            env.local_addr().unwrap(),
            env.remote_addr().unwrap().ip(),
            env.scheme()
        )))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        reply.ends_with(&format!("{addr}|127.0.0.1|http")),
        "{reply}"
    );
}

#[tokio::test]
async fn spec_1_2_script_name_plus_path_info_is_the_path() {
    let client = TestClient::new(Router::new().mount("/legacy", echo_env).fallback(echo_env));
    for (path, expected) in [
        ("/legacy/env", "GET|/legacy|/env||HTTP/1.1"),
        ("/legacy", "GET|/legacy|||HTTP/1.1"),
        ("/legacy/", "GET|/legacy|/||HTTP/1.1"),
        ("/other", "GET||/other||HTTP/1.1"),
    ] {
        assert_eq!(client.get(path).await.text(), expected, "{path}");
    }
}

#[tokio::test]
async fn spec_1_3_query_string_without_question_mark() {
    let client = TestClient::new(echo_env);
    assert_eq!(
        client.get("/p?a=1&b=2").await.text(),
        "GET||/p|a=1&b=2|HTTP/1.1"
    );
    assert_eq!(client.get("/p?").await.text(), "GET||/p||HTTP/1.1");
}

#[tokio::test]
async fn spec_1_4_paths_stay_percent_encoded() {
    let client = TestClient::new(Router::new().mount("/a%20b", echo_env));
    assert_eq!(
        client.get("/a%20b/c%2Fd?x=%41").await.text(),
        "GET|/a%20b|/c%2Fd|x=%41|HTTP/1.1"
    );
}

#[test]
fn spec_1_5_shift_path_info_moves_one_segment() {
    let req = Request::get("/one/two/").body(Body::empty()).unwrap();
    let mut env = Environ::from_request(req);
    assert_eq!(env.shift_path_info(), Some("one"));
    assert_eq!((env.script_name(), env.path_info()), ("/one", "/two/"));
    assert_eq!(env.shift_path_info(), Some("two"));
    assert_eq!((env.script_name(), env.path_info()), ("/one/two", "/"));
    assert_eq!(env.shift_path_info(), None);
}

#[tokio::test]
async fn spec_1_6_request_body_streams_and_collect_has_a_limit() {
    let client = TestClient::new(|mut env: Environ| async move {
        let mut chunks = 0;
        let mut total = 0;
        while let Some(chunk) = env.body_mut().chunk().await {
            total += chunk.unwrap().len();
            chunks += 1;
        }
        Response::new(Body::from(format!("{total} bytes in {chunks} chunks")))
    });
    let body = Body::from_chunks(["ab", "cd", "ef"]);
    let req = Request::post("/").body(body).unwrap();
    let res = client.request(req).await;
    assert!(res.text().starts_with("6 bytes in "), "{}", res.text());

    let limited = TestClient::new(|mut env: Environ| async move {
        match env.take_body().collect(4).await {
            Ok(b) => Response::new(Body::from(b)),
            Err(e) if e.is_body_too_large() => Response::new(Body::from("too large")),
            Err(e) => Response::new(Body::from(e.to_string())),
        }
    });
    let res = limited
        .request(Request::post("/").body(Body::from("12345")).unwrap())
        .await;
    assert_eq!(res.text(), "too large");
    let res = limited
        .request(Request::post("/").body(Body::from("1234")).unwrap())
        .await;
    assert_eq!(res.text(), "1234");
}

#[tokio::test]
async fn spec_1_6_a_failed_request_body_names_its_cause_and_keeps_failing() {
    use futures_util::StreamExt;
    // Each read until the third, said as "data", "end" or the error's cause.
    let client = TestClient::with_limits(
        |mut env: Environ| async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push(match env.body_mut().chunk().await {
                    Some(Ok(_)) => "data".to_owned(),
                    None => "end".to_owned(),
                    Some(Err(e)) => match e.downcast::<gateway::Error>() {
                        Ok(e) if e.is_body_timeout() => "timeout".to_owned(),
                        Ok(e) => format!("other: {e}"),
                        Err(e) => format!("not ours: {e}"),
                    },
                });
            }
            Response::new(Body::from(seen.join(",")))
        },
        Limits::default().body_read_timeout(Duration::from_millis(100)),
    );
    let stalled = futures_util::stream::iter([Ok::<_, gateway::BoxError>("ab")])
        .chain(futures_util::stream::pending());
    let req = Request::post("/").body(Body::from_stream(stalled)).unwrap();
    let res = client.request(req).await;
    // Never "end": a body cut short must not look complete.
    assert_eq!(res.text(), "data,timeout,timeout");

    // A body whose framing breaks: the same.
    let reads = |mut env: Environ| async move {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(match env.body_mut().chunk().await {
                Some(Ok(_)) => "data",
                None => "end",
                Some(Err(_)) => "error",
            });
        }
        Response::new(Body::from(seen.join(",")))
    };
    let addr = support::spawn_server(reads).await;
    let reply = support::raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n",
    )
    .await;
    assert!(reply.ends_with("data,error,error"), "{reply}");
}

#[tokio::test]
async fn spec_1_7_from_request_into_request_round_trip() {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/x?y")
        .version(Version::HTTP_11)
        .header("a", "b")
        .body(Body::from("payload"))
        .unwrap();
    let env = Environ::from_request(req);
    let req = env.into_request();
    assert_eq!(req.method(), Method::POST);
    assert_eq!(req.uri(), "/x?y");
    assert_eq!(req.headers()["a"], "b");
    assert_eq!(req.into_body().collect(100).await.unwrap(), "payload");
}
