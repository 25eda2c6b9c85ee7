//! spec/08-websocket.md, 8.12: keepalive pings, and dead peers dropped;
//! peers that answer never are.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::ws::{self, Config, Message};
use support::raw_ws::{self, PING};
use support::{echo, ws_connect as connect};

#[tokio::test]
async fn spec_8_12_idle_peer_is_pinged_and_dead_peer_dropped() {
    let endpoint = ws::endpoint(echo).config(
        Config::default()
            .ping_interval(Some(Duration::from_millis(100)))
            .ping_timeout(Duration::from_millis(300)),
    );
    let addr = support::spawn_server(endpoint).await;
    let connected = std::time::Instant::now();
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    // A peer that never answers: it gets pings, then is dropped, not
    // before ping_timeout (the ping went out after `connected`).
    let (_, op, _) = raw.read_frame().await.unwrap();
    assert_eq!(op, PING);
    assert!(raw.closed_by_server().await, "dead peer must be dropped");
    let limit = Duration::from_millis(300);
    support::assert_after_limit(connected.elapsed(), limit, "the dead peer was dropped");

    // A peer that answers pings (tungstenite does while it reads) stays.
    let mut socket = connect(addr, "/").await;
    let quiet = tokio::time::timeout(Duration::from_millis(700), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Ping(_))) => continue,
                other => panic!("only pings expected while idle, got {other:?}"),
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the connection stayed open while idle");
    socket.send(Message::text("still here")).await.unwrap();
    loop {
        match socket.next().await.unwrap().unwrap() {
            Message::Text(t) => {
                assert_eq!(t, "still here");
                break;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn spec_8_12_peers_that_answer_are_never_dropped_with_the_timeout_equal_to_the_interval() {
    // The defaults' proportions (20 s and 20 s), in real time: the answer
    // to each ping arrives a little after the check that sent it, and the
    // next check comes a little late or early; none of that may count as
    // the peer's silence.
    // Long enough that a loaded machine's scheduling delays stay well
    // under one interval.
    let every = Duration::from_millis(150);
    let endpoint = ws::endpoint(echo).config(
        Config::default()
            .ping_interval(Some(every))
            .ping_timeout(every),
    );
    let addr = support::spawn_server(endpoint).await;
    let mut peers = Vec::new();
    for _ in 0..16 {
        let mut socket = connect(addr, "/").await;
        peers.push(tokio::spawn(async move {
            // Reading answers pings; only pings may come.
            let mut pings = 0;
            let outcome = tokio::time::timeout(every * 15, async {
                loop {
                    match socket.next().await {
                        Some(Ok(Message::Ping(_))) => pings += 1,
                        other => return other,
                    }
                }
            })
            .await;
            (outcome.map(|other| format!("{other:?}")), pings)
        }));
    }
    for peer in peers {
        let (outcome, pings) = peer.await.unwrap();
        assert!(
            outcome.is_err(),
            "a peer that answers was dropped: {outcome:?}"
        );
        assert!(
            (7..=16).contains(&pings),
            "a quiet peer is pinged at every check, got {pings} in 15"
        );
    }
}
