//! R-D2: the IANA time zones of campaign time frames and of the account's day, without the
//! whole tz database in the wasm. jiff's bundled database is 206 KB (49 KB gzip); a zone
//! is needed only from the present on, and for most zones one POSIX TZ rule (the footer of its
//! TZif file) gives every transition from 2024 to 2100. The generated table (`tzdb.rs`) keeps
//! that rule for those zones and the zone's whole TZif data (`tzif.bin`) for the few whose
//! coming transitions no single rule describes (Casablanca's Ramadan changes, Vancouver's move
//! to permanent daylight time, …). `tests/tzdb.rs` regenerates the table from the bundled
//! database and checks every name against it, transition by transition, from 2024 to 2100.
//! Before 2024 a zone kept as a rule follows its current rule: a campaign date range that far
//! back may be an hour off, which changes nothing a decision made now can see.

use super::tzdb::Rule;
use jiff::tz::TimeZone;
use std::cell::RefCell;
use std::collections::HashMap;

/// The TZif data of the zones kept whole, one after the other.
static TZIF: &[u8] = include_bytes!("tzif.bin");

thread_local! {
    /// The zones read so far, by their place in the table: a zone is read once per isolate and
    /// shared (a `TimeZone` is a reference-counted pointer), as jiff's own database does.
    static READ: RefCell<HashMap<usize, TimeZone>> = RefCell::new(HashMap::new());
}

/// The zone named `name` (an IANA name, any case), or `None` for a name the tz database does
/// not know.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    let at = super::tzdb::ZONES
        .binary_search_by(|(key, _)| {
            key.bytes()
                .cmp(name.bytes().map(|b| b.to_ascii_lowercase()))
        })
        .ok()?;
    if let Some(known) = READ.with(|r| r.borrow().get(&at).cloned()) {
        return Some(known);
    }
    let (key, rule) = super::tzdb::ZONES.get(at)?;
    let zone = match *rule {
        Rule::Posix(rule) => TimeZone::posix(rule).ok()?,
        Rule::Tzif(start, end) => TimeZone::tzif(key, TZIF.get(start..end)?).ok()?,
    };
    READ.with(|r| r.borrow_mut().insert(at, zone.clone()));
    Some(zone)
}

/// The tz database release the table was generated from.
pub const TZDB_VERSION: &str = super::tzdb::VERSION;
