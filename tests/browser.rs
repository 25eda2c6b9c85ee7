//! End to end in a real browser: headless Chromium loads the demo's
//! `/graph` page, whose script opens a WebSocket to the same URL and draws
//! the values it receives. The DOM the browser ends up with proves the
//! values arrived.
//!
//! `.ci/run` installs Debian's `chromium`. Without it, this test fails in CI
//! (`CI` set) and is reported as skipped elsewhere, so that `cargo test`
//! still works on a machine without a browser.

#[path = "../examples/demo/app.rs"]
mod app;

use std::path::PathBuf;
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The text inside `<span id="{id}">…</span>`.
fn span(dom: &str, id: &str) -> Option<String> {
    let open = format!("<span id=\"{id}\">");
    let start = dom.find(&open)? + open.len();
    let end = dom[start..].find("</span>")?;
    Some(dom[start..start + end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_graph_page_receives_values_over_websocket() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium: .ci/run installs it"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve(listener, app::app()));

    let profile = std::env::temp_dir().join(format!("gateway-chromium-{}", std::process::id()));
    let url = format!("http://{addr}/graph");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                // Lets the page's script run (and its socket deliver) before
                // the DOM is dumped.
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .expect("chromium starts");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(span(&dom, "status").as_deref(), Some("connected"), "{dom}");
    let count: u32 = span(&dom, "count").unwrap().parse().unwrap();
    assert!(count >= 1, "the page received no value: {dom}");
    let latest: f64 = span(&dom, "latest").unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&latest), "{latest}");
}
