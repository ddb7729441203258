//! R-D1: the condition language passes GrowthBook's public specification cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::condition::{Condition, Lookups, SavedGroups};
use edge_engage::engine::draw::hash;
use serde_json::Value;
use std::collections::HashMap;

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/growthbook-cases.json"
    ))
    .expect("conformance file");
    serde_json::from_str(&text).expect("conformance json")
}

#[test]
fn r_d1_every_growthbook_eval_condition_case_passes() {
    let all = cases();
    let list = all["evalCondition"].as_array().expect("cases");
    assert!(list.len() > 150, "suite unexpectedly small");
    let mut failures = Vec::new();
    for case in list {
        let name = case[0].as_str().unwrap_or("?");
        let groups: SavedGroups = case
            .get(4)
            .and_then(|g| serde_json::from_value(g.clone()).ok())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let cond = Condition::compile(&case[1], &mut problems);
        let got = cond.eval(&case[2], &groups);
        if got != case[3].as_bool().expect("expected bool") {
            failures.push(format!("{name}: expected {} got {got}", case[3]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// R-D1: with the attribute paths of all cases numbered in one table, as a snapshot numbers
/// its conditions' paths, and each looked up once per attribute set (a decision's memo), every
/// case gives its expected answer, evaluated once and again over the same lookups.
#[test]
fn r_d1_every_case_passes_with_paths_looked_up_once() {
    let all = cases();
    let list = all["evalCondition"].as_array().expect("cases");
    let mut slots = HashMap::new();
    let mut failures = Vec::new();
    for case in list {
        let name = case[0].as_str().unwrap_or("?");
        let groups: SavedGroups = case
            .get(4)
            .and_then(|g| serde_json::from_value(g.clone()).ok())
            .unwrap_or_default();
        let mut cond = Condition::compile(&case[1], &mut Vec::new());
        cond.number_paths(&mut slots);
        let mut lookups = Lookups::new(&case[2], slots.len());
        let expected = case[3].as_bool().expect("expected bool");
        for round in ["first", "again"] {
            let got = cond.eval_in(&mut lookups, &groups);
            if got != expected {
                failures.push(format!("{name} ({round}): expected {expected} got {got}"));
            }
        }
    }
    assert!(slots.len() > 20, "{} paths numbered", slots.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn r_d5_bucketing_hash_matches_specification_vectors() {
    let all = cases();
    for case in all["hash"].as_array().expect("hash cases") {
        let seed = case[0].as_str().expect("seed");
        let value = case[1].as_str().expect("value");
        let version = case[2].as_u64().expect("version") as u8;
        let got = hash(seed, value, version);
        match case[3].as_f64() {
            Some(expected) => {
                let got = got.expect("hash for known version");
                assert!((got - expected).abs() < 1e-9, "{case}: got {got}");
            }
            None => assert_eq!(got, None, "{case}"),
        }
    }
}

#[test]
fn r_d5_allocation_free_hash_equals_the_specification_hash() {
    use edge_engage::engine::draw::hash_v2_parts;
    for (seed, value) in [
        ("", "a"),
        ("demo|control|account|", "visitor-0001"),
        ("ä|", "€x"),
        ("a|b|c|", ""),
    ] {
        let parts: Vec<&str> = seed.split_inclusive('|').collect();
        assert_eq!(
            hash_v2_parts(&parts, value),
            hash(seed, value, 2).unwrap(),
            "{seed}{value}"
        );
    }
}
