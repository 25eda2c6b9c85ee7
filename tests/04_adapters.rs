//! spec/04-adapters.md: two_to_one and one_to_two.

mod support;

use gateway::callback::StartResponse;
use gateway::http::{HeaderMap, Request, StatusCode};
use gateway::testing::TestClient;
use gateway::{one_to_two, two_to_one, Body, BoxError, Environ, Response};

#[tokio::test]
async fn spec_4_1_head_fixed_by_first_chunk() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::ACCEPTED, support::text_headers())?;
        write.write("a").await?;
        write.write("b").await?;
        Ok::<_, BoxError>(Body::from("c"))
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.text(), "abc");
}

#[tokio::test]
async fn spec_4_2_returned_body_passes_through_with_its_length() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Body::from("exactly 19 bytes!!!"))
    }));
    let res = client.get("/").await;
    assert_eq!(res.header("content-length"), Some("19"));
    assert_eq!(res.header("transfer-encoding"), None);
}

#[tokio::test]
async fn spec_4_3_one_write_then_return_goes_out_with_a_content_length() {
    let client = TestClient::new(two_to_one(|env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        write.write("one write").await?;
        if env.path_info() == "/two" {
            // Still running after the first write: a stream.
            tokio::task::yield_now().await;
            write.write(", then another").await?;
        }
        Ok::<_, BoxError>(Body::empty())
    }));
    let res = client.get("/one").await;
    assert_eq!(res.header("content-length"), Some("9"));
    assert_eq!(res.header("transfer-encoding"), None);
    assert_eq!(res.text(), "one write");

    let res = client.get("/two").await;
    assert_eq!(res.header("content-length"), None);
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    assert_eq!(res.text(), "one write, then another");
}

#[tokio::test]
async fn spec_4_3_dropping_the_body_drops_the_app() {
    let drops = support::DropCounter::default();
    let d = drops.clone();
    let app = two_to_one(move |_env: Environ, sr: StartResponse| {
        let token = d.token();
        async move {
            let _token = token;
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            loop {
                write.write("tick").await?;
            }
        }
    });
    // Call the adapted app directly: no server, no task of its own.
    let res = gateway::App::call(
        &app,
        Environ::from_request(Request::get("/").body(Body::empty()).unwrap()),
    )
    .await;
    let mut body = res.into_body();
    assert_eq!(body.chunk().await.unwrap().unwrap(), "tick");
    assert_eq!(body.chunk().await.unwrap().unwrap(), "tick");
    assert_eq!(drops.count(), 0);
    drop(body);
    assert_eq!(drops.count(), 1, "the app's future lives inside the body");
}

#[tokio::test]
async fn spec_4_3_writes_run_in_the_callers_task() {
    // The adapted app is driven by polling the body: a current-thread,
    // single-task poll loop gets every chunk without any spawned helper.
    let app = two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        for i in 0..3 {
            write.write(format!("{i}")).await?;
        }
        Ok::<_, BoxError>(Body::empty())
    });
    let env = Environ::from_request(Request::get("/").body(Body::empty()).unwrap());
    let body = futures_util::FutureExt::now_or_never(gateway::App::call(&app, env))
        .expect("head ready in one poll")
        .into_body();
    let mut body = std::pin::pin!(body);
    let mut got = String::new();
    while let Some(chunk) =
        futures_util::FutureExt::now_or_never(body.chunk()).expect("each chunk ready in one poll")
    {
        got.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert_eq!(got, "012");
}

#[derive(Clone, Debug, PartialEq)]
struct Marker(u32);

#[tokio::test]
async fn spec_4_4_one_to_two_keeps_head_extensions_and_body() {
    let inner = |_env: Environ| async {
        let mut res = Response::new(Body::from("inner body"));
        *res.status_mut() = StatusCode::IM_A_TEAPOT;
        res.headers_mut().insert("x-inner", "1".parse().unwrap());
        res.extensions_mut().insert(Marker(7));
        res
    };
    let app = two_to_one(one_to_two(inner));
    let env = Environ::from_request(Request::get("/").body(Body::empty()).unwrap());
    let res = gateway::App::call(&app, env).await;
    assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(res.headers()["x-inner"], "1");
    assert_eq!(res.extensions().get::<Marker>(), Some(&Marker(7)));
    assert_eq!(http_body::Body::size_hint(res.body()).exact(), Some(10));
    assert_eq!(res.into_body().collect(100).await.unwrap(), "inner body");
}
