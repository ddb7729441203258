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

/// Runs `evaluate` on every `evalCondition` case (its condition, attributes and saved groups),
/// which answers each evaluation it made, and fails listing every answer that is not the
/// case's expected one.
fn every_eval_case(mut evaluate: impl FnMut(&Value, &Value, &SavedGroups) -> Vec<bool>) {
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
        let expected = case[3].as_bool().expect("expected bool");
        for (i, got) in evaluate(&case[1], &case[2], &groups)
            .into_iter()
            .enumerate()
        {
            if got != expected {
                failures.push(format!(
                    "{name} (evaluation {i}): expected {expected} got {got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn r_d1_every_growthbook_eval_condition_case_passes() {
    every_eval_case(|condition, attributes, groups| {
        let cond = Condition::compile(condition, &mut Vec::new());
        vec![cond.eval(attributes, groups)]
    });
}

/// R-D1: with the attribute paths of all cases numbered in one table, as a snapshot numbers
/// its conditions' paths, and each looked up once per attribute set (a decision's memo), every
/// case gives its expected answer, evaluated once and again over the same lookups.
#[test]
fn r_d1_every_case_passes_with_paths_looked_up_once() {
    let mut slots = HashMap::new();
    every_eval_case(|condition, attributes, groups| {
        let mut cond = Condition::compile(condition, &mut Vec::new());
        cond.number_paths(&mut slots);
        let mut lookups = Lookups::new(attributes, slots.len());
        vec![
            cond.eval_in(&mut lookups, groups),
            cond.eval_in(&mut lookups, groups),
        ]
    });
    assert!(slots.len() > 20, "{} paths numbered", slots.len());
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
