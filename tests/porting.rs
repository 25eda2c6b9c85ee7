//! The porting example: every step of the port answers the same.

#[path = "../examples/porting/app.rs"]
mod app;

use gateway::testing::TestClient;

#[tokio::test]
async fn every_porting_step_answers_the_same() {
    let client = TestClient::new(app::app());
    for query in ["", "?name=Ada", &format!("?name={}", "x".repeat(41))] {
        let expected = client.get(&format!("/step3{query}")).await;
        for step in ["/step1", "/step1b", "/step2"] {
            let res = client.get(&format!("{step}{query}")).await;
            assert_eq!(res.status(), expected.status(), "{step}{query}");
            assert_eq!(res.text(), expected.text(), "{step}{query}");
            assert_eq!(
                res.header("content-type"),
                expected.header("content-type"),
                "{step}{query}"
            );
        }
    }
    assert_eq!(client.get("/step3?name=Ada").await.text(), "Hello, Ada!\n");
}

#[tokio::test]
async fn porting_index_links_every_step() {
    let client = TestClient::new(app::app());
    let res = client.get("/").await;
    assert_eq!(res.status(), gateway::http::StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let page = res.text();
    for step in ["/step1?", "/step1b?", "/step2?", "/step3?"] {
        assert!(
            page.contains(&format!("href=\"{step}")),
            "index lacks {step}"
        );
    }
    // Every link on it answers, and the long name's link shows the 400.
    for link in page.split("href=\"").skip(1) {
        let link = &link[..link.find('"').unwrap()];
        let res = client.get(link).await;
        let name = link.split_once("name=").map_or("", |(_, name)| name);
        let expected = match name.len() > 40 {
            true => gateway::http::StatusCode::BAD_REQUEST,
            false => gateway::http::StatusCode::OK,
        };
        assert_eq!(res.status(), expected, "{link}");
    }
}
