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

fn params(
    name: &'static str,
) -> impl Fn(Environ) -> std::future::Ready<String> + Send + Sync + 'static {
    move |env: Environ| {
        let params: Vec<String> = env.params().map(|(k, v)| format!("{k}={v}")).collect();
        std::future::ready(format!(
            "{name}:{}:{}:{}",
            env.script_name(),
            env.path_info(),
            params.join(",")
        ))
    }
}

#[tokio::test]
async fn spec_7_8_parameters_match_one_segment_and_are_decoded() {
    let client = TestClient::new(
        Router::new()
            .route("/users/{id}", params("user"))
            .route("/users/{id}/posts/{post}", params("post"))
            .route("/img/pic-{n}.png", params("img")),
    );
    assert_eq!(client.get("/users/7").await.text(), "user::/users/7:id=7");
    assert_eq!(
        client.get("/users/ada%20l").await.text(),
        "user::/users/ada%20l:id=ada l"
    );
    // An escaped slash stays inside the one value; matching is on the raw path.
    assert_eq!(
        client.get("/users/a%2Fb").await.text(),
        "user::/users/a%2Fb:id=a/b"
    );
    assert_eq!(
        client.get("/users/7/posts/9").await.text(),
        "post::/users/7/posts/9:id=7,post=9"
    );
    assert_eq!(
        client.get("/img/pic-3.png").await.text(),
        "img::/img/pic-3.png:n=3"
    );
    for path in [
        "/users",
        "/users/",
        "/users/7/",
        "/users/7/posts",
        "/img/pic-3.jpg",
    ] {
        assert_eq!(
            client.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn spec_7_8_a_value_that_is_not_utf8_once_decoded_is_400() {
    let client = TestClient::new(Router::new().route("/users/{id}", params("user")));
    let res = client.get("/users/%FF%FE").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().contains("\"id\""), "{}", res.text());
}

#[tokio::test]
async fn spec_7_8_catch_all_takes_the_rest_but_not_nothing() {
    let client = TestClient::new(Router::new().route("/files/{*rest}", params("files")));
    assert_eq!(
        client.get("/files/a/b%20c.txt").await.text(),
        "files::/files/a/b%20c.txt:rest=a/b c.txt"
    );
    assert_eq!(client.get("/files/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(client.get("/files").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn spec_7_3_static_over_patterns_then_mounts() {
    let client = TestClient::new(
        Router::new()
            .route("/users/me", named("me"))
            .route("/users/{id}", params("user"))
            .route("/files/readme", named("readme"))
            .route("/files/{*rest}", params("rest"))
            .route("/api/{v}/users", params("route"))
            .mount("/api/v1", named("mount")),
    );
    assert_eq!(client.get("/users/me").await.text(), "me::/users/me");
    assert_eq!(
        client.get("/users/you").await.text(),
        "user::/users/you:id=you"
    );
    assert_eq!(
        client.get("/users/a/b").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/files/readme").await.text(),
        "readme::/files/readme"
    );
    assert_eq!(
        client.get("/files/a/b").await.text(),
        "rest::/files/a/b:rest=a/b"
    );
    // Every route, pattern routes included, before any mount.
    assert_eq!(
        client.get("/api/v1/users").await.text(),
        "route::/api/v1/users:v=v1"
    );
    assert_eq!(
        client.get("/api/v1/items").await.text(),
        "mount:/api/v1:/items"
    );
    assert_eq!(
        client.get("/api/v2/users").await.text(),
        "route::/api/v2/users:v=v2"
    );
}

#[tokio::test]
async fn spec_7_8_nested_routers_keep_outer_parameters_inner_wins() {
    let inner = Router::new().route("/{id}", params("inner"));
    let outer = Router::new()
        .route("/orgs/{id}", params("outer"))
        .mount("/teams", inner);
    let client = TestClient::new(Router::new().mount("/o", outer));
    assert_eq!(
        client.get("/o/orgs/1").await.text(),
        "outer:/o:/orgs/1:id=1"
    );
    assert_eq!(
        client.get("/o/teams/2").await.text(),
        "inner:/o/teams:/2:id=2"
    );

    // Parameters from an outer pattern route survive into a router it routes to.
    let app = Router::new().route("/{org}/{*rest}", |env: Environ| async move {
        format!(
            "{}+{}",
            env.param("org").unwrap(),
            env.param("rest").unwrap()
        )
    });
    assert_eq!(
        TestClient::new(app).get("/acme/x/y").await.text(),
        "acme+x/y"
    );
}

#[test]
fn spec_7_6_conflicting_patterns_panic_naming_both_routes() {
    let conflict = std::panic::catch_unwind(|| {
        Router::new()
            .route("/users/{id}", named("a"))
            .route("/users/{name}", named("b"))
    })
    .unwrap_err();
    let msg = conflict.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("/users/{name}") && msg.contains("/users/{id}"),
        "{msg}"
    );

    let twice = std::panic::catch_unwind(|| {
        Router::new()
            .route("/a/{x}", named("a"))
            .route("/a/{x}", named("b"))
    })
    .unwrap_err();
    let msg = twice.downcast_ref::<String>().unwrap();
    assert!(msg.matches("/a/{x}").count() == 2, "{msg}");

    // A parameter and a catch-all at the same place cannot be told apart.
    let both = std::panic::catch_unwind(|| {
        Router::new()
            .route("/u/{id}", named("a"))
            .route("/u/{*rest}", named("b"))
    })
    .unwrap_err();
    let msg = both.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("/u/{*rest}") && msg.contains("/u/{id}"),
        "{msg}"
    );

    for bad in ["/a/{", "/a/{*rest}/b", "/a/{x}{y}"] {
        let err = std::panic::catch_unwind(|| Router::new().route(bad, named("a"))).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains(bad), "{msg}");
    }
}
