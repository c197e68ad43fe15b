//! The ephemeral store on the configured backend (in-process, or Redis with a per-test prefix).

use std::time::Duration;

use latchkey::store::ephemeral::{Clock, EphemeralStore, MemoryStore};

use crate::helpers::TestEnv;

async fn store() -> (TestEnv, EphemeralStore) {
    let env = TestEnv::new().await;
    let store = EphemeralStore::connect(&env.settings(0)).await.unwrap();
    (env, store)
}

#[tokio::test]
async fn a_value_can_be_taken_exactly_once() {
    let (_env, store) = store().await;
    store.put("code:1", b"grant", Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.get("code:1").await.unwrap(), Some(b"grant".to_vec()));
    assert_eq!(store.take("code:1").await.unwrap(), Some(b"grant".to_vec()));
    assert_eq!(store.take("code:1").await.unwrap(), None);
    assert_eq!(store.get("code:1").await.unwrap(), None);
}

/// On a multi-threaded runtime, so the takers really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_takers_exactly_one_wins() {
    let (_env, store) = store().await;
    store.put("ceremony", b"state", Duration::from_secs(60)).await.unwrap();
    let takers = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take("ceremony").await.unwrap() })
    });
    let mut winners = 0;
    for taker in takers {
        if taker.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn values_expire_after_their_ttl() {
    let (_env, store) = store().await;
    // The in-process store reads a clock the test moves; Redis keeps its own time.
    let clock = Clock::manual();
    let store = match store {
        EphemeralStore::Memory(_) => EphemeralStore::Memory(MemoryStore::with_clock(100, clock.clone())),
        redis => redis,
    };
    store.put("short", b"x", Duration::from_millis(100)).await.unwrap();
    store.put("long", b"y", Duration::from_secs(60)).await.unwrap();
    match store {
        EphemeralStore::Memory(_) => clock.advance(Duration::from_millis(100)),
        EphemeralStore::Redis(_) => tokio::time::sleep(Duration::from_millis(250)).await,
    }
    assert_eq!(store.get("short").await.unwrap(), None);
    assert_eq!(store.get("long").await.unwrap(), Some(b"y".to_vec()));
}

#[tokio::test]
async fn counters_count_within_their_window_and_json_round_trips() {
    let (_env, store) = store().await;
    assert_eq!(store.increment("login:1.2.3.4", Duration::from_secs(60)).await.unwrap(), 1);
    assert_eq!(store.increment("login:1.2.3.4", Duration::from_secs(60)).await.unwrap(), 2);
    store.put_json("session", &serde_json::json!({"user": "u1"}), Duration::from_secs(60)).await.unwrap();
    let value: serde_json::Value = store.take_json("session").await.unwrap().unwrap();
    assert_eq!(value["user"], "u1");
}

#[tokio::test]
async fn tests_with_different_prefixes_do_not_see_each_others_keys() {
    let (_env_a, a) = store().await;
    let (_env_b, b) = store().await;
    a.put("shared-name", b"a", Duration::from_secs(60)).await.unwrap();
    if matches!(a, EphemeralStore::Redis(_)) {
        assert_eq!(b.get("shared-name").await.unwrap(), None);
    }
    assert_eq!(a.get("shared-name").await.unwrap(), Some(b"a".to_vec()));
}
