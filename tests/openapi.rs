//! docs/openapi.yaml names exactly the operations the worker's router serves (src/routes.rs):
//! no route missing from the document, none documented that the router does not serve.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edge_engage::api::routes::{resolve, Resolved, ASSETS, ROUTES};
use std::collections::BTreeSet;

fn documented() -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml")).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_served_route_is_documented_and_nothing_else() {
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_string(), (*p).to_string()))
        .chain(ASSETS.iter().map(|p| ("GET".to_string(), (*p).to_string())))
        .collect();
    let documented = documented();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in docs/openapi.yaml: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
}

#[test]
fn every_documented_path_resolves_to_its_route() {
    for (method, path) in documented() {
        if ASSETS.contains(&path.as_str()) {
            continue; // a static asset: the platform answers before the worker runs
        }
        let concrete = path
            .replace("{account}", "demo")
            .replace("{engagement}", "e1")
            .replace("{skill}", "sales")
            .replace("{visitId}", "v1");
        match resolve(&method, &concrete) {
            Resolved::Found { template, .. } => assert_eq!(template, path),
            other => panic!("{method} {concrete}: {other:?}"),
        }
    }
}
