//! How old an account's view (its live revision, agent availability and identity secrets) may
//! be where a request uses it, and who asks the account's object for a newer one (R-P2: a
//! publish or an availability push is seen by every isolate within 10 s).
//!
//! Two copies stand between a request and the account's object:
//! * each isolate's own copy, trusted for [`VIEW_TTL_MS`], and on the tag routes used up to
//!   [`STALE_LIMIT_MS`] while a newer one is fetched after the answer;
//! * the location's shared copy (the Cache API, one per data center), which an isolate adopts
//!   instead of asking the object itself. It carries the time the object was read, never the
//!   time it was copied, so adopting it cannot stretch R-P2's bound. Since every isolate of a
//!   location then holds a view of the same age, they would all ask again at the same moment:
//!   the first one claims the refresh ([`CLAIM_MS`]), and the others keep their copy meanwhile.
//!
//! Pure policy over times and revisions; the platform layer (`platform/snapshots.rs`) acts on
//! it.

/// Longest an isolate trusts a view (from the object's read) before asking again.
pub const VIEW_TTL_MS: u64 = 5_000;
/// Oldest view a tag route answers on while a newer one is fetched after the answer (R-P2).
pub const STALE_LIMIT_MS: u64 = 10_000;
/// How long one isolate's claim to refresh the location's view holds the others off (a read of
/// the account's object from the far side of the world takes a few hundred ms).
pub const CLAIM_MS: u64 = 2_000;
/// How far ahead of this isolate's clock another isolate's time may be and still be believed.
/// A view stamped further in the future is treated as unknown (test clocks move backwards).
pub const SKEW_MS: u64 = 1_000;

/// Age at `now` of something stamped `at`: `None` when `at` lies beyond [`SKEW_MS`] in the
/// future.
pub fn age(at: u64, now: u64) -> Option<u64> {
    (at <= now.saturating_add(SKEW_MS)).then(|| now.saturating_sub(at))
}

/// What a request does with its isolate's own view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// Fresh: use it.
    Use,
    /// Stale but within R-P2's bound, on a tag route: answer on it, refresh after the answer.
    UseThenRefresh,
    /// Missing or too old: get a newer one before answering.
    Refresh,
}

/// R-P2: what a request does with its isolate's view read from the object at `fetched_at`
/// (`None`: the isolate has none). `tag_route`: the route may answer on a stale view and
/// refresh after the answer.
pub fn own(fetched_at: Option<u64>, now: u64, tag_route: bool) -> Own {
    match fetched_at.and_then(|at| age(at, now)) {
        Some(a) if a < VIEW_TTL_MS => Own::Use,
        Some(a) if a < STALE_LIMIT_MS && tag_route => Own::UseThenRefresh,
        _ => Own::Refresh,
    }
}

/// When a view was read from the account's object, and which revision it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    /// When the account's object was read, ms since the epoch.
    pub fetched_at: u64,
    /// The live revision it named.
    pub revision: u64,
}

/// The location's shared view, as an isolate finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shared {
    /// The view's stamp.
    pub stamp: Stamp,
    /// When an isolate last claimed its refresh, if it has not written a newer view since.
    pub claimed_at: Option<u64>,
}

/// Whether a view stamped `other` is at least as recent as the isolate's own (`own`, if any),
/// both in when it was read and in the revision it names: an isolate never takes a view that
/// would send it back.
pub fn not_behind(other: Stamp, own: Option<Stamp>) -> bool {
    own.is_none_or(|o| other.fetched_at >= o.fetched_at && other.revision >= o.revision)
}

/// What an isolate does when its own view needs refreshing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtLocation {
    /// Take the location's view: fresh, or stale while another isolate refreshes it.
    Adopt,
    /// Another isolate is refreshing the location's view and this isolate's own view is still
    /// within R-P2's bound: keep it (after the answer only).
    KeepOwn,
    /// Ask the account's object; `claim`: first mark the location's view as being refreshed.
    Fetch {
        /// Whether to claim the refresh first.
        claim: bool,
    },
}

/// R-P2, per location: an isolate whose own view (`own`, if any) needs refreshing at `now`
/// finds the location's view `shared`. A shared view is adopted only if it is neither older nor
/// of a lower revision than the isolate's own (so an isolate that has just written never goes
/// back), and only while fresh, or while another isolate's claim on it is recent and it is
/// within [`STALE_LIMIT_MS`]. A view that cannot be adopted is claimed before the object is
/// asked, so that the location's other isolates wait for this one's answer.
pub fn at_location(shared: Option<Shared>, own: Option<Stamp>, now: u64) -> AtLocation {
    let Some(shared) = shared else {
        return AtLocation::Fetch { claim: false };
    };
    let Some(shared_age) = age(shared.stamp.fetched_at, now) else {
        return AtLocation::Fetch { claim: false };
    };
    let not_behind = not_behind(shared.stamp, own);
    let claimed = shared
        .claimed_at
        .and_then(|at| age(at, now))
        .is_some_and(|a| a < CLAIM_MS);
    let own_usable = own
        .and_then(|o| age(o.fetched_at, now))
        .is_some_and(|a| a < STALE_LIMIT_MS);
    match () {
        () if not_behind && shared_age < VIEW_TTL_MS => AtLocation::Adopt,
        () if claimed && own_usable => AtLocation::KeepOwn,
        () if claimed && not_behind && shared_age < STALE_LIMIT_MS => AtLocation::Adopt,
        () => AtLocation::Fetch { claim: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_900_000_000_000;

    fn stamp(fetched_at: u64, revision: u64) -> Stamp {
        Stamp {
            fetched_at,
            revision,
        }
    }

    fn shared(fetched_at: u64, revision: u64, claimed_at: Option<u64>) -> Option<Shared> {
        Some(Shared {
            stamp: stamp(fetched_at, revision),
            claimed_at,
        })
    }

    #[test]
    fn r_p2_own_view_is_fresh_for_five_seconds_then_stale_until_ten() {
        assert_eq!(own(Some(T), T + 4_999, true), Own::Use);
        assert_eq!(own(Some(T), T + 5_000, true), Own::UseThenRefresh);
        assert_eq!(own(Some(T), T + 9_999, true), Own::UseThenRefresh);
        assert_eq!(own(Some(T), T + 10_000, true), Own::Refresh);
        // Routes that cannot refresh after their answer wait once the view is 5 s old.
        assert_eq!(own(Some(T), T + 5_000, false), Own::Refresh);
        assert_eq!(own(None, T, true), Own::Refresh);
    }

    #[test]
    fn r_p2_a_view_stamped_in_the_future_is_not_believed() {
        assert_eq!(age(T + SKEW_MS, T), Some(0));
        assert_eq!(age(T + SKEW_MS + 1, T), None);
        assert_eq!(own(Some(T + 60_000), T, true), Own::Refresh);
        assert_eq!(
            at_location(shared(T + 60_000, 3, None), None, T),
            AtLocation::Fetch { claim: false }
        );
    }

    #[test]
    fn r_p2_a_fresh_location_view_is_adopted_with_its_own_age() {
        assert_eq!(
            at_location(shared(T, 3, None), None, T + 4_000),
            AtLocation::Adopt
        );
        assert_eq!(
            at_location(shared(T, 3, None), Some(stamp(T - 6_000, 3)), T + 4_000),
            AtLocation::Adopt
        );
        // Adopted, it is 4 s old for its new holder too: one more second, not five.
        assert_eq!(own(Some(T), T + 5_000, true), Own::UseThenRefresh);
    }

    #[test]
    fn r_p2_a_location_view_past_five_seconds_is_claimed_and_refreshed() {
        assert_eq!(
            at_location(shared(T, 3, None), None, T + 5_000),
            AtLocation::Fetch { claim: true }
        );
        assert_eq!(
            at_location(None, None, T),
            AtLocation::Fetch { claim: false }
        );
    }

    #[test]
    fn r_p2_while_another_isolate_refreshes_the_others_wait_within_ten_seconds() {
        let claimed = shared(T, 3, Some(T + 5_100));
        // After the answer, with a view of its own under 10 s: keep it.
        assert_eq!(
            at_location(claimed, Some(stamp(T, 3)), T + 6_000),
            AtLocation::KeepOwn
        );
        // Without one (a new isolate): take the location's, stale but under 10 s.
        assert_eq!(at_location(claimed, None, T + 6_000), AtLocation::Adopt);
        // Past 10 s nobody answers on it: ask the object.
        assert_eq!(
            at_location(claimed, None, T + 10_000),
            AtLocation::Fetch { claim: true }
        );
        // A claim whose holder has not written within 2 s is taken over.
        assert_eq!(
            at_location(claimed, Some(stamp(T, 3)), T + 5_100 + CLAIM_MS),
            AtLocation::Fetch { claim: true }
        );
    }

    #[test]
    fn r_p2_an_isolate_that_has_just_written_never_goes_back() {
        // This isolate published revision 4 (its view is due for a read); the location still
        // holds revision 3, fresh.
        assert_eq!(
            at_location(shared(T, 3, None), Some(stamp(0, 4)), T + 1_000),
            AtLocation::Fetch { claim: true }
        );
        // This isolate pushed availability at T + 2 s; the location's view is from T.
        assert_eq!(
            at_location(shared(T, 3, None), Some(stamp(T + 2_000, 3)), T + 7_500),
            AtLocation::Fetch { claim: true }
        );
    }
}
