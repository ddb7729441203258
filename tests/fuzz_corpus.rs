//! Replays the committed `cargo fuzz` corpus (fuzz/corpus/) through the same entry points the
//! fuzz targets run, so every interesting input found once stays a regression test: snapshot
//! publish (R-P1), decide requests, events (R-D9), offsite links (R-O2, R-O5) and conversions
//! and measurement messages (R-M2, R-M4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus folder") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| run(&data)) {
            panic!("{}: {e:?}", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn snapshot_corpus() {
    replay("snapshot", edge_engage::fuzzing::snapshot);
}

#[test]
fn decide_request_corpus() {
    replay("decide_request", edge_engage::fuzzing::decide_request);
}

#[test]
fn events_corpus() {
    replay("events", edge_engage::fuzzing::events);
}

#[test]
fn offsite_link_corpus() {
    replay("offsite_link", edge_engage::fuzzing::offsite_link);
}

#[test]
fn measurement_corpus() {
    replay("measurement", edge_engage::fuzzing::measurement);
}
