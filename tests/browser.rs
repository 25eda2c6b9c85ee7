//! End to end in a real browser: headless Chromium loads the demo's
//! `/graph` page, whose script opens a WebSocket to the same URL and draws
//! the values it receives. The DOM the browser ends up with proves the
//! values arrived. The same page over HTTPS shows that a browser on an
//! HTTP/2 connection still opens its `wss://` WebSocket (spec 6.9). The
//! echo page, in its `?auto` mode, sends a text and a binary message to
//! each of the demo's echo endpoints, the return-style one and the one a
//! callback-style app accepts itself (spec 8.15), and closes.
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
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve(listener, app::app()));
    check_graph_page(&format!("http://{addr}/graph"), "plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_graph_page_receives_values_over_wss() {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let tls = gateway::server::TlsConfig::from_pem(
        certified.cert.pem().as_bytes(),
        certified.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = gateway::server::Server::new(app::app()).tls(tls);
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    check_graph_page(&format!("https://{addr}/graph"), "tls").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_echo_page_round_trips_on_both_endpoints() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve(listener, app::app()));
    for path in ["/echo", "/legacy/ws"] {
        let url = format!("http://{addr}/echo.html?auto&path={path}");
        // Both echoes back. The close the page then starts takes a round
        // trip that Chromium's dump does not always wait for: when it came
        // in time, it must have been a clean 1000.
        let echoed = |dom: &str| dom.contains("&lt; binary");
        let Some(dom) = dump_dom(&url, "echo", echoed).await else {
            return;
        };
        let log = between(&dom, "<div id=\"log\" aria-live=\"polite\">", "</div>")
            .unwrap_or_else(|| panic!("no log in {dom}"));
        let lines: Vec<&str> = log.lines().collect();
        let (exchange, after) = lines.split_at(lines.len().min(5));
        assert_eq!(
            exchange,
            [
                "open",
                "&gt; Hello, WebSocket!",
                "&gt; binary, 17 bytes",
                "&lt; Hello, WebSocket!",
                "&lt; binary, 17 bytes: 72 101 108 108 111 44 32 87 101 98 83 111 99 107 101 116 33",
            ],
            "{path}"
        );
        let state = span(&dom, "state");
        match after {
            [] => assert_eq!(state.as_deref(), Some("open"), "{path}"),
            ["closed with 1000"] => assert_eq!(state.as_deref(), Some("closed (1000)"), "{path}"),
            other => panic!("{path}: after the echoes, {other:?}"),
        }
    }
}

/// The text between `open` and the next `close`.
fn between(dom: &str, open: &str, close: &str) -> Option<String> {
    let start = dom.find(open)? + open.len();
    let end = dom[start..].find(close)?;
    Some(dom[start..start + end].to_owned())
}

/// Loads the `/graph` page at `url` and checks that values arrived over its
/// WebSocket. `name` keeps the browser profiles of concurrent tests apart.
async fn check_graph_page(url: &str, name: &str) {
    let connected = |dom: &str| span(dom, "status").as_deref() == Some("connected");
    let Some(dom) = dump_dom(url, name, connected).await else {
        return;
    };
    assert_eq!(span(&dom, "status").as_deref(), Some("connected"), "{dom}");
    let count: u32 = span(&dom, "count").unwrap().parse().unwrap();
    assert!(count >= 1, "the page received no value: {dom}");
    let latest: f64 = span(&dom, "latest").unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&latest), "{latest}");
}

/// One browser at a time: three at once on a small machine starve each
/// other's pages of time.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Page loads before giving up on `done`.
const ATTEMPTS: usize = 3;

/// The DOM headless Chromium ends up with at `url`, once the page's
/// scripts had their time; `None` (the test skipped) on a machine without
/// Chromium, outside CI.
///
/// Chromium dumps the DOM when its virtual time budget runs out, and a
/// WebSocket's traffic is real time, not virtual: on a busy machine the
/// dump can come before the page is done. So the page is loaded again, up
/// to [`ATTEMPTS`] times, until `done` holds; the last DOM is returned
/// either way, for the caller's assertions to show.
async fn dump_dom(url: &str, name: &str, done: impl Fn(&str) -> bool) -> Option<String> {
    let _turn = ONE_BROWSER.lock().await;
    let mut dom = None;
    for _ in 0..ATTEMPTS {
        let page = load_once(url, name).await?;
        let finished = done(&page);
        dom = Some(page);
        if finished {
            break;
        }
    }
    dom
}

async fn load_once(url: &str, name: &str) -> Option<String> {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium: .ci/run installs it"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium)");
        return None;
    };
    let profile =
        std::env::temp_dir().join(format!("gateway-chromium-{}-{name}", std::process::id()));
    let url = url.to_owned();
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
                // The TLS test's certificate is self-signed.
                "--ignore-certificate-errors",
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
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}
