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
