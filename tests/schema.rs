//! docs/snapshot.schema.json is the schema generated from the engine's types (R-P1: publishers
//! can validate before they send). Regenerate with `UPDATE_SCHEMA=1 cargo test --test schema`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn committed_snapshot_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/snapshot.schema.json");
    let generated = edge_engage::schema::snapshot_schema();
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/snapshot.schema.json is stale: run UPDATE_SCHEMA=1 cargo test --test schema"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    for field in ["schemaVersion", "account"] {
        assert!(schema["required"]
            .as_array()
            .unwrap()
            .contains(&field.into()));
    }
}
