//! R-D2 time frames: bounds, zones, daylight saving, overnight shifts, occasions.

use super::*;

fn frame(json: &str) -> TimeFrame {
    let spec: TimeFrameSpec = serde_json::from_str(json).unwrap();
    let mut problems = Vec::new();
    let tf = TimeFrame::compile(&spec, "Europe/London", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    tf.unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const WEEKLY: &str = r#"{"start":"2026-01-01T00:00","end":"2027-01-01T00:00",
    "hours":{"kind":"weekly","days":{"mon":[{"from":"09:00","to":"17:00"}],
    "fri":[{"from":"09:00","to":"12:00"},{"from":"22:00","to":"02:00"}],
    "sat":[{"from":"10:00","to":"23:59"}]}},
    "specialOccasions":[{"name":"Christmas","date":"2026-12-25"},
    {"name":"Boxing Day","date":"2026-12-26","shifts":[{"from":"12:00","to":"14:00"}]}]}"#;

#[test]
fn r_d2_start_inclusive_end_exclusive() {
    let tf = frame(WEEKLY);
    // 2026-01-01 is a Thursday: closed day, but first test the bounds with all hours.
    let all = frame(r#"{"start":"2026-03-01T09:00","end":"2026-03-02T09:00"}"#);
    assert!(matches!(
        all.check(at("2026-03-01T08:59:59Z")),
        Err(Closed::NotStarted { .. })
    ));
    assert_eq!(all.check(at("2026-03-01T09:00:00Z")), Ok(()));
    assert_eq!(all.check(at("2026-03-02T08:59:59Z")), Ok(()));
    assert_eq!(all.check(at("2026-03-02T09:00:00Z")), Err(Closed::Ended));
    assert!(tf.check(at("2026-01-01T10:00:00Z")).is_err());
}

#[test]
fn r_d2_weekly_shifts_in_local_time_across_dst() {
    let tf = frame(WEEKLY);
    // Monday 2026-01-05, London = UTC in winter.
    assert_eq!(tf.check(at("2026-01-05T09:00:00Z")), Ok(()));
    assert!(tf.check(at("2026-01-05T17:00:00Z")).is_err());
    // Monday 2026-07-06, London = UTC+1: 09:00 local is 08:00Z.
    assert_eq!(tf.check(at("2026-07-06T08:00:00Z")), Ok(()));
    assert!(tf.check(at("2026-07-06T16:30:00Z")).is_err());
    assert!(tf.check(at("2026-07-06T07:59:00Z")).is_err());
}

#[test]
fn r_d2_overnight_shift_spills_into_next_day() {
    let tf = frame(WEEKLY);
    // Friday 2026-01-09 22:00 .. Saturday 02:00.
    assert_eq!(tf.check(at("2026-01-09T23:30:00Z")), Ok(()));
    assert_eq!(tf.check(at("2026-01-10T01:59:00Z")), Ok(()));
    assert!(tf.check(at("2026-01-10T02:00:00Z")).is_err());
    // Saturday until midnight (23:59 means end of day).
    assert_eq!(tf.check(at("2026-01-10T23:59:30Z")), Ok(()));
}

#[test]
fn r_d2_special_occasions_replace_the_day() {
    let tf = frame(WEEKLY);
    // Christmas 2026 is a Friday: closed all day.
    assert_eq!(
        tf.check(at("2026-12-25T10:00:00Z")),
        Err(Closed::Occasion {
            name: "Christmas".into()
        })
    );
    // Boxing Day (Saturday) only 12:00-14:00, and no spill from Christmas night.
    assert!(tf.check(at("2026-12-26T01:00:00Z")).is_err());
    assert_eq!(tf.check(at("2026-12-26T12:30:00Z")), Ok(()));
    assert!(tf.check(at("2026-12-26T15:00:00Z")).is_err());
}

/// Occasions listed out of date order: each is found on its own date, and a regular day
/// between them keeps its own hours.
#[test]
fn r_d2_occasions_are_found_in_any_order_and_only_on_their_dates() {
    let tf = frame(
        r#"{"start":"2026-01-01T00:00","hours":{"kind":"weekly","days":{
        "mon":[{"from":"09:00","to":"17:00"}],"thu":[{"from":"09:00","to":"17:00"}]}},
        "specialOccasions":[{"name":"New Year's Eve","date":"2026-12-31"},
        {"name":"Christmas","date":"2026-12-25"},
        {"name":"Christmas Eve","date":"2026-12-24","shifts":[{"from":"09:00","to":"12:00"}]}]}"#,
    );
    let occasion = |name: &str| Err(Closed::Occasion { name: name.into() });
    assert_eq!(
        tf.check(at("2026-12-31T10:00:00Z")),
        occasion("New Year's Eve")
    );
    assert_eq!(tf.check(at("2026-12-25T10:00:00Z")), occasion("Christmas"));
    assert_eq!(tf.check(at("2026-12-24T10:00:00Z")), Ok(()));
    assert_eq!(
        tf.check(at("2026-12-24T13:00:00Z")),
        occasion("Christmas Eve")
    );
    // Monday 28 December, between the occasions: its regular hours.
    assert_eq!(tf.check(at("2026-12-28T10:00:00Z")), Ok(()));
    // Thursday 17 December and 7 January, outside them: regular hours too.
    assert_eq!(tf.check(at("2026-12-17T10:00:00Z")), Ok(()));
    assert_eq!(tf.check(at("2027-01-07T10:00:00Z")), Ok(()));
}

#[test]
fn utc_instants_parse_by_hand_like_jiff() {
    for t in [
        "2026-11-23T10:00:00Z",
        "2026-06-27T08:30:59Z",
        "2026-12-31T23:59:00.250Z",
    ] {
        let expected: Timestamp = t.parse().unwrap();
        assert_eq!(
            parse_utc(t).map(|ts| ts.as_second()),
            Some(expected.as_second()),
            "{t}"
        );
    }
    for bad in [
        "2026-11-23T10:00:00",
        "2026-11-23 10:00:00Z",
        "2026-13-01T00:00:00Z",
        "x",
        "",
    ] {
        assert_eq!(parse_utc(bad), None, "{bad}");
    }
}

#[test]
fn r_d2_validation_reports_every_problem() {
    let spec: TimeFrameSpec = serde_json::from_str(
        r#"{"timeZone":"Mars/Base","start":"tomorrow","end":"2020-01-01T00:00",
        "hours":{"kind":"weekly","days":{"funday":[],"mon":[{"from":"09:03","to":"25:00"}]}},
        "specialOccasions":[{"name":"x","date":"2026-13-01"}]}"#,
    )
    .unwrap();
    let mut problems = Vec::new();
    assert!(TimeFrame::compile(&spec, "UTC", &mut problems).is_none());
    let text = problems.join("\n");
    for needle in [
        "Mars/Base",
        "tomorrow",
        "funday",
        "09:03",
        "25:00",
        "2026-13-01",
    ] {
        assert!(text.contains(needle), "missing {needle} in {text}");
    }
}
