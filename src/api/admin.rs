//! The admin API's bodies (R-P1, R-P2) and what the account's object answers.

use crate::engine::agent::Availability;
use crate::tenancy::identity::IdentitySecret;
use crate::tenancy::keys::{KeyOp, KeyRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest availability body accepted, in bytes.
pub const MAX_AVAILABILITY_BODY: usize = 64 * 1024;

/// `PUT /v1/admin/accounts/{account}/availability` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityPush {
    /// Availability per skill id.
    pub skills: Availability,
}

/// The account's live revision and availability, as its object keeps them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Live revision; 0 before the first publish.
    pub revision: u64,
    /// Agent availability per skill (R-P2).
    pub availability: Availability,
    /// The identity-token secrets, newest first (R-S2).
    #[serde(default)]
    pub identity: Vec<IdentitySecret>,
}

/// A key operation at a time, sent to the account's object (R-S1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCall {
    /// The request's time, ms since the epoch.
    pub now_ms: u64,
    /// The operation.
    pub op: KeyOp,
}

/// The account object's answer to a [`KeyCall`].
pub type KeyAnswer = Result<Vec<KeyRecord>, crate::tenancy::keys::KeyError>;

/// What a publish did in the account's object (R-P1's revision check).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishAnswer {
    /// The live revision after the attempt.
    pub revision: u64,
    /// False when the base revision did not match (or another publish was in flight).
    pub published: bool,
}

/// The revision a publish says it read, from its `If-Match` header (R-P1): `*` for whatever is
/// live, or a revision number (`0` for a first publish), quoted as an ETag or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// `*`: replace whatever is live.
    Any,
    /// Replace this revision only.
    Revision(u64),
}

impl Base {
    /// The base `If-Match` names; `None` when it names neither `*` nor a revision number.
    pub fn parse(value: &str) -> Option<Base> {
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if value == "*" {
            return Some(Base::Any);
        }
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value.parse().ok().map(Base::Revision)
    }

    /// True when a publish on this base may replace revision `live`.
    pub fn admits(self, live: u64) -> bool {
        match self {
            Base::Any => true,
            Base::Revision(r) => r == live,
        }
    }

    /// The header value that names this base.
    pub fn header(self) -> String {
        match self {
            Base::Any => "*".to_string(),
            Base::Revision(r) => r.to_string(),
        }
    }
}

/// Offsite click counts: engagement id → outcome code → clicks.
pub type ClickTotals = BTreeMap<String, BTreeMap<String, u64>>;

/// Adds the counts of `more` to `totals`: a batch to an object's totals, and the click shards'
/// totals to one answer.
pub fn add_clicks(totals: &mut ClickTotals, more: ClickTotals) {
    for (engagement, outcomes) in more {
        let slot = totals.entry(engagement).or_default();
        for (outcome, n) in outcomes {
            let count = slot.entry(outcome).or_default();
            *count = count.saturating_add(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-P1: `If-Match` names `*` or a revision, quoted or not; nothing else is a base.
    #[test]
    fn if_match_names_any_or_a_revision() {
        for (value, want) in [
            ("*", Some(Base::Any)),
            (" \"*\" ", Some(Base::Any)),
            ("0", Some(Base::Revision(0))),
            ("\"12\"", Some(Base::Revision(12))),
            ("007", Some(Base::Revision(7))),
            ("", None),
            ("\"\"", None),
            ("+1", None),
            ("-1", None),
            ("1.5", None),
            ("W/\"3\"", None),
            ("\"3", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(Base::parse(value), want, "{value:?}");
        }
        assert!(Base::Any.admits(41));
        assert!(Base::Revision(41).admits(41));
        assert!(!Base::Revision(40).admits(41));
        for base in [Base::Any, Base::Revision(9)] {
            assert_eq!(Base::parse(&base.header()), Some(base));
        }
    }

    /// Batches and shards add per engagement and outcome; nothing else moves.
    #[test]
    fn click_totals_add_per_engagement_and_outcome() {
        let of = |rows: &[(&str, &str, u64)]| {
            let mut t = ClickTotals::new();
            for (e, o, n) in rows {
                t.entry((*e).into()).or_default().insert((*o).into(), *n);
            }
            t
        };
        let mut totals = of(&[("e-a", "eligible", 3), ("e-b", "control", 1)]);
        add_clicks(
            &mut totals,
            of(&[("e-a", "eligible", 2), ("e-a", "closed", 4)]),
        );
        add_clicks(
            &mut totals,
            of(&[("e-c", "eligible", u64::MAX), ("e-b", "control", 0)]),
        );
        add_clicks(&mut totals, of(&[("e-c", "eligible", 1)]));
        let want = of(&[
            ("e-a", "eligible", 5),
            ("e-a", "closed", 4),
            ("e-b", "control", 1),
            ("e-c", "eligible", u64::MAX),
        ]);
        assert_eq!(totals, want);
    }
}
