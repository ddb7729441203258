//! Reading a snapshot document: straight into its types when it has no shape problems (the
//! fast path), else part by part from each part's own text so every problem has its path.

use super::spec::*;
use super::validate::{build, CampaignParts, Checks, Part, Parts, Problem};
use super::Snapshot;
use crate::engine::condition::SavedGroups;
use crate::engine::entry_point::EntryPointSpec;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The document `PUT /v1/admin/accounts/{account}/snapshot` accepts. Publishing checks more
/// than a schema can say (references, time zones, URLs, condition syntax) and reports every
/// problem with its path (R-P1); this schema catches shape errors first.
// The compiler reads a document straight into this type (the fast path, taken by every
// document without shape problems); the JSON Schema is generated from it (`crate::schema`).
#[derive(Debug, Deserialize)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    derive(schemars::JsonSchema),
    schemars(title = "Edge engagement snapshot")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TypedDoc {
    /// Always 1.
    #[cfg_attr(not(target_arch = "wasm32"), schemars(range(min = 1, max = 1)))]
    schema_version: u32,
    /// Account settings.
    account: AccountSpec,
    /// Saved groups for `$inGroup`: name → list of values.
    #[serde(default)]
    saved_groups: Option<SavedGroups>,
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

/// The whole published document with its parts left as text, so that each part can be read on
/// its own and every shape problem reported with its path: the path of a document the fast
/// path refused. Parts are read with the same deserializers as the fast path, so the worker
/// carries one set of them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawDoc {
    schema_version: u32,
    account: Box<RawValue>,
    #[serde(default)]
    saved_groups: Option<Box<RawValue>>,
    #[serde(default)]
    skills: Vec<Box<RawValue>>,
    #[serde(default)]
    entry_points: Vec<Box<RawValue>>,
    #[serde(default)]
    campaigns: Vec<Box<RawValue>>,
}

impl Parts {
    fn typed(doc: TypedDoc) -> Parts {
        Parts {
            schema_version: doc.schema_version,
            account: Ok(doc.account),
            saved_groups: Ok(doc.saved_groups.unwrap_or_default()),
            skills: doc.skills.into_iter().map(Ok).collect(),
            entry_points: doc.entry_points.into_iter().map(Ok).collect(),
            campaigns: doc
                .campaigns
                .into_iter()
                .map(|mut spec| {
                    let engagements = std::mem::take(&mut spec.engagements);
                    CampaignParts {
                        spec: Ok(spec),
                        engagements: Ok(engagements.into_iter().map(Ok).collect()),
                    }
                })
                .collect(),
        }
    }

    fn raw(doc: RawDoc) -> Parts {
        fn read<T: DeserializeOwned>(raw: &RawValue) -> Part<T> {
            read_text(raw.get())
        }
        // A part's position inside its own text would mislead: the path says where it is.
        fn read_text<T: DeserializeOwned>(text: &str) -> Part<T> {
            serde_json::from_str(text).map_err(|e| {
                let message = e.to_string();
                match message.rfind(" at line ") {
                    Some(i) => message.get(..i).unwrap_or(&message).to_string(),
                    None => message,
                }
            })
        }
        let campaign = |raw: &RawValue| {
            // Engagements are taken out and read one by one; the rest is the campaign.
            let mut fields: BTreeMap<String, Box<RawValue>> = match read(raw) {
                Ok(fields) => fields,
                Err(e) => {
                    return CampaignParts {
                        spec: Err(e),
                        engagements: Ok(Vec::new()),
                    }
                }
            };
            let engagements = match fields.remove("engagements") {
                Some(list) => read::<Vec<Box<RawValue>>>(&list)
                    .map(|list| list.iter().map(|e| read(e)).collect())
                    .map_err(|_| "must be an array of engagements".to_string()),
                None => Ok(Vec::new()),
            };
            let spec = serde_json::to_string(&fields)
                .map_err(|e| e.to_string())
                .and_then(|text| read_text(&text));
            CampaignParts { spec, engagements }
        };
        Parts {
            schema_version: doc.schema_version,
            account: read(&doc.account),
            saved_groups: doc
                .saved_groups
                .map_or(Ok(SavedGroups::new()), |g| read(&g)),
            skills: doc.skills.iter().map(|s| read(s)).collect(),
            entry_points: doc.entry_points.iter().map(|e| read(e)).collect(),
            campaigns: doc.campaigns.iter().map(|c| campaign(c)).collect(),
        }
    }
}

/// R-P1: validates and compiles a snapshot document for `account_id`. On refusal, every problem
/// found is returned (syntax errors stop at the first, as JSON cannot be read past them).
///
/// # Errors
///
/// Every [`Problem`] of the document, each at its JSON path.
///
/// # Example
///
/// ```
/// use edge_engage::engine::snapshot::compile;
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
/// let text = std::fs::read_to_string(path)?;
/// let snapshot = compile(&text, "demo", 1).map_err(|p| format!("{} problems", p.len()))?;
/// assert_eq!(snapshot.revision, 1);
///
/// let refused = compile(r#"{"schemaVersion": 1}"#, "demo", 2);
/// let problems = refused.err().ok_or("accepted")?;
/// assert!(problems.iter().any(|p| p.message.contains("account")), "{problems:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compile(text: &str, account_id: &str, revision: u64) -> Result<Snapshot, Vec<Problem>> {
    compile_with(text, account_id, revision, Checks::All)
}

/// Compiles a revision that [`compile`] accepted when it was published, as isolates read it
/// from KV: the checks that can only find a problem are not made again ([`Checks::Published`]).
///
/// # Errors
///
/// The [`Problem`]s that still show when the text is not a published revision's (it cannot be
/// read, or its parts do not fit together).
///
/// # Example
///
/// ```
/// use edge_engage::engine::snapshot::{compile, load};
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
/// let text = std::fs::read_to_string(path)?;
/// let published = compile(&text, "demo", 3).map_err(|p| format!("{p:?}"))?;
/// let loaded = load(&text, "demo", 3).map_err(|p| format!("{p:?}"))?;
/// assert_eq!(loaded.engagements.len(), published.engagements.len());
/// assert!(load("not json", "demo", 3).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load(text: &str, account_id: &str, revision: u64) -> Result<Snapshot, Vec<Problem>> {
    compile_with(text, account_id, revision, Checks::Published)
}

fn compile_with(
    text: &str,
    account_id: &str,
    revision: u64,
    checks: Checks,
) -> Result<Snapshot, Vec<Problem>> {
    // A document without shape problems is read straight into its types (no intermediate
    // `Value` tree, most of the cost of a large snapshot); any other is read again part by
    // part so that every problem is reported with its path.
    let parts = match serde_json::from_str::<TypedDoc>(text) {
        Ok(doc) => Parts::typed(doc),
        Err(_) => {
            let doc: RawDoc = serde_json::from_str(text).map_err(|e| {
                let message = if e.is_syntax() || e.is_eof() {
                    format!("invalid JSON: {e}")
                } else {
                    e.to_string()
                };
                vec![Problem {
                    path: "(document)".to_string(),
                    message,
                }]
            })?;
            Parts::raw(doc)
        }
    };
    build(parts, account_id, revision, checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that two compiles of one document hold the same snapshot. Compiled conditions
    /// hold hash maps (no stable Debug order): what was read is compared, and the indexes.
    fn assert_same(a: &Snapshot, b: &Snapshot) {
        let specs = |s: &Snapshot| {
            let campaigns: Vec<_> = s.campaigns.iter().map(|c| &c.spec).collect();
            let engagements: Vec<_> = s.engagements.iter().map(|e| &e.spec).collect();
            serde_json::to_string(&(&s.account.spec, campaigns, engagements, &s.skills))
                .unwrap_or_default()
        };
        assert_eq!(specs(a), specs(b));
        assert_eq!(a.rank, b.rank);
        assert_eq!(a.time_zones, b.time_zones);
        let slots = |s: &Snapshot| {
            s.campaigns
                .iter()
                .map(|c| c.time_frame_slot)
                .collect::<Vec<_>>()
        };
        assert_eq!(slots(a), slots(b));
        assert_eq!(a.time_frame_slots, b.time_frame_slots);
        assert_eq!(a.condition_slots, b.condition_slots);
        assert_eq!(a.path_slots, b.path_slots);
        assert_eq!(a.by_zone.len(), b.by_zone.len());
        for zone in a.by_zone.keys() {
            assert_eq!(a.in_zone(zone), b.in_zone(zone));
        }
    }

    /// R-P1: the typed fast path and the part-by-part path compile the same snapshot.
    #[test]
    fn both_read_paths_compile_the_same_snapshot() {
        let text = include_str!("../../../fixtures/demo/snapshot.json");
        let typed = serde_json::from_str::<TypedDoc>(text).map(Parts::typed);
        let values = serde_json::from_str::<RawDoc>(text).map(Parts::raw);
        let (Ok(typed), Ok(values)) = (typed, values) else {
            panic!("the demo document reads both ways");
        };
        let (Ok(a), Ok(b)) = (
            build(typed, "demo", 3, Checks::All),
            build(values, "demo", 3, Checks::All),
        ) else {
            panic!("the demo document compiles both ways");
        };
        assert_same(&a, &b);
        assert!(a.campaigns.iter().all(|c| c.spec.engagements.is_empty()));
    }

    /// R-P1: a revision loads, as isolates read it from KV, into the snapshot it compiled to
    /// when it was published (the demo account and a large one).
    #[test]
    #[cfg(feature = "testing")]
    fn a_published_revision_loads_as_it_compiled() {
        let scale = crate::scale::snapshot(7, 500);
        for (text, account) in [
            (include_str!("../../../fixtures/demo/snapshot.json"), "demo"),
            (scale.as_str(), "scale"),
        ] {
            let (Ok(published), Ok(loaded)) = (compile(text, account, 2), load(text, account, 2))
            else {
                panic!("{account} compiles and loads");
            };
            assert_same(&published, &loaded);
        }
    }

    /// R-P1: loading trusts the checks publishing made (URLs, ids) and makes the rest: a
    /// document that cannot be read, or is for another account, is still refused.
    #[test]
    fn loading_skips_only_the_checks_that_cannot_change_the_snapshot() {
        let text = include_str!("../../../fixtures/demo/snapshot.json");
        let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) else {
            panic!("the demo document is JSON");
        };
        if let Some(url) = doc.pointer_mut("/account/defaultOfflineSurveyUrl") {
            *url = "http://not-https.example/".into();
        }
        let edited = doc.to_string();
        assert!(
            compile(&edited, "demo", 2).is_err(),
            "publishing checks URLs"
        );
        assert!(
            load(&edited, "demo", 2).is_ok(),
            "loading does not check them again"
        );
        assert!(load(&text[..100], "demo", 2).is_err());
        assert!(load(text, "other", 2).is_err());
    }
}
