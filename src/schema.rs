//! The snapshot's JSON Schema, generated from the type the compiler reads documents into, so
//! that it cannot drift from what publishing accepts. Committed as docs/snapshot.schema.json (a
//! test keeps it current) and served by the worker at `GET /v1/schema/snapshot.json`. Native
//! only.

use crate::engine::snapshot::TypedDoc;

/// The schema as pretty JSON, with a trailing newline.
pub fn snapshot_schema() -> String {
    let schema = schemars::schema_for!(TypedDoc);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
