//! The snapshot's JSON Schema, generated from the engine's own types so that it cannot drift
//! from what publishing accepts. Committed as docs/snapshot.schema.json (a test keeps it
//! current) and served by the worker at `GET /v1/schema/snapshot.json`. Native only.

use crate::engine::entry_point::EntryPointSpec;
use crate::engine::snapshot::{AccountSpec, CampaignSpec, Skill};
use schemars::JsonSchema;
use serde_json::Value;
use std::collections::BTreeMap;

/// The document `PUT /v1/admin/accounts/{account}/snapshot` accepts. Validation on publish
/// checks more than a schema can say (references, time zones, URLs, condition syntax), and
/// reports every problem with its path (R-P1); this schema catches shape errors first.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Edge engagement snapshot")]
#[allow(dead_code)]
struct Snapshot {
    /// Always 1.
    #[schemars(range(min = 1, max = 1))]
    schema_version: u32,
    /// Account settings.
    account: AccountSpec,
    /// Saved groups for `$inGroup`: name → list of values.
    #[serde(default)]
    saved_groups: BTreeMap<String, Vec<Value>>,
    /// Skills that engagements route to.
    #[serde(default)]
    skills: Vec<Skill>,
    /// Entry points (pages and sections).
    #[serde(default)]
    entry_points: Vec<EntryPointSpec>,
    /// Campaigns with their engagements.
    #[serde(default)]
    campaigns: Vec<CampaignSpec>,
}

/// The schema as pretty JSON, with a trailing newline.
pub fn snapshot_schema() -> String {
    let schema = schemars::schema_for!(Snapshot);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
