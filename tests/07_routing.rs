//! spec/07-routing.md: the router.

use gateway::http::StatusCode;
use gateway::routing::Router;
use gateway::testing::TestClient;
use gateway::{Body, Environ, Response};

fn named(
    name: &'static str,
) -> impl Fn(Environ) -> std::future::Ready<Response> + Send + Sync + 'static {
    move |env: Environ| {
        std::future::ready(Response::new(Body::from(format!(
            "{name}:{}:{}",
            env.script_name(),
            env.path_info()
        ))))
    }
}

#[tokio::test]
async fn spec_7_1_exact_route_matches_only_its_path() {
    let client = TestClient::new(Router::new().route("/a", named("a")));
    assert_eq!(client.get("/a").await.text(), "a::/a");
    assert_eq!(client.get("/a/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(client.get("/a/b").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn spec_7_2_mount_matches_whole_segments_and_moves_the_prefix() {
    let client = TestClient::new(Router::new().mount("/legacy/", named("m")));
    assert_eq!(client.get("/legacy").await.text(), "m:/legacy:");
    assert_eq!(client.get("/legacy/x/y").await.text(), "m:/legacy:/x/y");
    assert_eq!(client.get("/legacyx").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn spec_7_3_routes_before_mounts_and_longest_mount_wins() {
    let client = TestClient::new(
        Router::new()
            .mount("/a", named("short"))
            .mount("/a/b", named("long"))
            .route("/a/b/exact", named("route")),
    );
    assert_eq!(client.get("/a/b/c").await.text(), "long:/a/b:/c");
    assert_eq!(client.get("/a/c").await.text(), "short:/a:/c");
    assert_eq!(client.get("/a/b/exact").await.text(), "route::/a/b/exact");
}

#[tokio::test]
async fn spec_7_4_fallback_or_404() {
    let client = TestClient::new(Router::new().route("/x", named("x")));
    let res = client.get("/nothing").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().starts_with("404 Not Found"));
    let client = TestClient::new(Router::new().fallback(named("fb")));
    assert_eq!(client.get("/anything").await.text(), "fb::/anything");
}

#[tokio::test]
async fn spec_7_5_routers_nest() {
    let inner = Router::new()
        .route("/users", named("users"))
        .mount("/files", named("files"));
    let client = TestClient::new(Router::new().mount("/api", Router::new().mount("/v1", inner)));
    assert_eq!(
        client.get("/api/v1/users").await.text(),
        "users:/api/v1:/users"
    );
    assert_eq!(
        client.get("/api/v1/files/a.txt").await.text(),
        "files:/api/v1/files:/a.txt"
    );
    assert_eq!(
        client.get("/api/v2/users").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
#[should_panic(expected = "must start with '/'")]
fn spec_7_6_mount_without_slash_panics() {
    let _ = Router::new().mount("api", named("x"));
}

#[test]
#[should_panic(expected = "added twice")]
fn spec_7_6_duplicate_route_panics() {
    let _ = Router::new()
        .route("/x", named("x"))
        .route("/x", named("y"));
}

#[test]
#[should_panic(expected = "not be '/'")]
fn spec_7_6_mount_at_root_panics() {
    let _ = Router::new().mount("/", named("x"));
}

#[tokio::test]
async fn spec_7_7_method_router_answers_405_with_allow() {
    use gateway::routing::get;
    let client =
        TestClient::new(Router::new().route("/item", get(named("show")).post(named("update"))));
    assert_eq!(client.get("/item").await.text(), "show::/item");
    let post = gateway::http::Request::post("/item")
        .body(Body::empty())
        .unwrap();
    assert_eq!(client.request(post).await.text(), "update::/item");
    let delete = gateway::http::Request::delete("/item")
        .body(Body::empty())
        .unwrap();
    let res = client.request(delete).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.header("allow"), Some("GET, POST, HEAD"));
    let head = gateway::http::Request::head("/item")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        client.request(head).await.status(),
        StatusCode::OK,
        "HEAD goes to GET"
    );
}
