//! Campaign time frames (R-D2): a date range in a time zone, daily or weekly shifts in 5-minute
//! steps (overnight allowed), and special occasions that replace a day's hours.
//!
//! Bounds: `start` is inclusive, `end` is exclusive; a shift `from`–`to` includes `from` and
//! excludes `to`, with `23:59` or `24:00` as `to` meaning "until midnight". A shift whose `to`
//! is not after its `from` runs overnight into the next day, unless that next day is a special
//! occasion (an occasion owns its whole calendar day). Times are wall-clock times in the time
//! frame's zone, so daylight-saving changes move the instants, not the hours: a wall time that
//! does not exist (spring forward) is never open, a repeated one (fall back) is open twice.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

// Generated (tests/tzdb.rs) and checked byte for byte: not reformatted.
#[rustfmt::skip]
mod tzdb;
mod zones;
pub use zones::{time_zone, TZDB_VERSION};

/// A shift as published: `{"from": "09:00", "to": "17:30"}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShiftSpec {
    /// Opening wall time, `HH:MM`, on a 5-minute step.
    pub from: String,
    /// Closing wall time, `HH:MM` (5-minute step, or `23:59` / `24:00` for midnight).
    pub to: String,
}

/// Which hours of each day inside the date range are open.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum HoursSpec {
    /// Open around the clock (the default).
    #[default]
    All,
    /// The same shifts every day.
    Daily {
        /// Shifts of every day.
        shifts: Vec<ShiftSpec>,
    },
    /// Shifts per weekday (`mon` … `sun`); a missing day is closed.
    Weekly {
        /// Weekday name to shifts.
        days: BTreeMap<String, Vec<ShiftSpec>>,
    },
}

/// A date with other hours (`shifts`), or closed (no shifts).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OccasionSpec {
    /// Shown in explanations, e.g. "Christmas Day".
    pub name: String,
    /// The calendar date, `YYYY-MM-DD`, in the time frame's zone.
    pub date: String,
    /// Open shifts on that date; empty means closed all day.
    #[serde(default)]
    pub shifts: Vec<ShiftSpec>,
}

/// A campaign's time frame as published.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeFrameSpec {
    /// IANA zone; defaults to the account's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// First open wall time, `YYYY-MM-DDTHH:MM` (inclusive).
    pub start: String,
    /// End wall time (exclusive); absent means no end date.
    #[serde(default)]
    pub end: Option<String>,
    /// Open hours inside the date range.
    #[serde(default)]
    pub hours: HoursSpec,
    /// Dates whose hours replace the regular ones.
    #[serde(default)]
    pub special_occasions: Vec<OccasionSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    from: u16,
    to: u16,
}

impl Shift {
    fn overnight(self) -> bool {
        self.to <= self.from
    }
}

/// A compiled time frame, ready to answer "is it open at this instant?".
#[derive(Debug, Clone)]
pub struct TimeFrame {
    tz: TimeZone,
    tz_name: String,
    start: Timestamp,
    start_text: String,
    end: Option<Timestamp>,
    /// Shifts per weekday, Monday first; `None` when open all hours.
    week: Option<[Vec<Shift>; 7]>,
    /// Special occasions in date order ([`TimeFrame::occasion`]).
    occasions: Vec<(Date, String, Vec<Shift>)>,
}

/// Why a time frame is closed at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// Before the start of the date range.
    NotStarted {
        /// Start wall time and zone, e.g. `2026-12-01T09:00 Europe/London`.
        starts: String,
    },
    /// At or after the end of the date range.
    Ended,
    /// Inside the date range, outside the day's shifts.
    OutsideHours {
        /// Local wall time and zone of the request.
        local: String,
    },
    /// A special occasion closes (or shortens) the day.
    Occasion {
        /// The occasion's name.
        name: String,
    },
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::NotStarted { starts } => write!(f, "campaign has not begun (starts {starts})"),
            Closed::Ended => write!(f, "campaign time frame has ended"),
            Closed::OutsideHours { local } => write!(f, "outside the campaign's hours ({local})"),
            Closed::Occasion { name } => {
                write!(f, "special occasion \"{name}\" closes these hours")
            }
        }
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_hhmm(text: &str, closing: bool) -> Result<u16, String> {
    let bad = || format!("\"{text}\" is not a HH:MM wall time on a 5-minute step");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    match (h, m) {
        (23, 59) | (24, 0) if closing => Ok(24 * 60),
        (0..=23, 0..=59) if m.is_multiple_of(5) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// `at` is written out only for a problem (most time frames have none).
fn compile_shifts(
    specs: &[ShiftSpec],
    at: impl std::fmt::Display,
    problems: &mut Vec<String>,
) -> Vec<Shift> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let from = parse_hhmm(&s.from, false);
            let to = parse_hhmm(&s.to, true);
            match (from, to) {
                (Ok(from), Ok(to)) if from == to => {
                    problems.push(format!(
                        "{at}[{i}]: shift is empty ({} to {})",
                        s.from, s.to
                    ));
                    None
                }
                (Ok(from), Ok(to)) => Some(Shift { from, to }),
                (f, t) => {
                    for e in [f.err(), t.err()].into_iter().flatten() {
                        problems.push(format!("{at}[{i}]: {e}"));
                    }
                    None
                }
            }
        })
        .collect()
}

/// `YYYY-MM-DD`, read by hand: jiff's formatting machinery would add ~50 KB to the wasm.
pub fn parse_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| {
        text.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
    };
    let year: i16 = digits(0..4)?.parse().ok()?;
    let month: i8 = digits(5..7)?.parse().ok()?;
    let day: i8 = digits(8..10)?.parse().ok()?;
    Date::new(year, month, day).ok()
}

/// `YYYY-MM-DDTHH:MM`.
fn parse_civil(text: &str) -> Option<DateTime> {
    let (date, time) = text.split_once('T')?;
    let (h, m) = time.split_once(':')?;
    let two = |p: &str| {
        p.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| p.parse::<i8>().ok())
            .flatten()
    };
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let time = jiff::civil::Time::new(two(h)?, two(m)?, 0, 0).ok()?;
    Some(DateTime::from_parts(parse_date(date)?, time))
}

/// An RFC 3339 UTC instant, `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds allowed), read by hand
/// like the other formats here (the test clock uses it).
pub fn parse_utc(text: &str) -> Option<Timestamp> {
    let body = text.strip_suffix('Z')?;
    let (minute, seconds) = body.rsplit_once(':')?;
    let whole = seconds.split('.').next()?;
    if whole.len() != 2 || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let second: i8 = whole.parse().ok()?;
    let civil = parse_civil(minute)?.with().second(second).build().ok()?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

fn weekday_name(d: Date) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .get(usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0))
        .copied()
        .unwrap_or("")
}

impl TimeFrame {
    /// Validates and compiles a time frame; `default_tz` is the account's zone.
    /// Problems are appended as `field: message` (relative to the time frame).
    pub fn compile(
        spec: &TimeFrameSpec,
        default_tz: &str,
        problems: &mut Vec<String>,
    ) -> Option<TimeFrame> {
        let before = problems.len();
        let tz_name = spec.time_zone.as_deref().unwrap_or(default_tz);
        let tz = time_zone(tz_name);
        if tz.is_none() {
            problems.push(format!("timeZone: unknown time zone \"{tz_name}\""));
        }
        let instant = |field: &str, text: &str, problems: &mut Vec<String>| {
            let civil = parse_civil(text);
            if civil.is_none() {
                problems.push(format!("{field}: \"{text}\" is not YYYY-MM-DDTHH:MM"));
            }
            let tz = tz.as_ref()?;
            // A start inside a DST gap begins at the first instant after it.
            tz.to_ambiguous_timestamp(civil?).later().ok()
        };
        let start = instant("start", &spec.start, problems);
        let end = spec.end.as_ref().map(|e| instant("end", e, problems));
        if let (Some(s), Some(Some(e))) = (start, end) {
            if e <= s {
                problems.push("end: must be after start".to_string());
            }
        }
        let week = match &spec.hours {
            // All hours with special occasions still needs a week for the days around them.
            HoursSpec::All if spec.special_occasions.is_empty() => None,
            HoursSpec::All => Some(all_week()),
            HoursSpec::Daily { shifts } => {
                let day = compile_shifts(shifts, "hours.shifts", problems);
                Some(std::array::from_fn(|_| day.clone()))
            }
            HoursSpec::Weekly { days } => {
                for name in days.keys() {
                    if !WEEKDAYS.contains(&name.as_str()) {
                        problems.push(format!("hours.days.{name}: not one of {WEEKDAYS:?}"));
                    }
                }
                Some(std::array::from_fn(|i| {
                    let name = WEEKDAYS.get(i).copied().unwrap_or_default();
                    days.get(name).map_or_else(Vec::new, |s| {
                        compile_shifts(s, format_args!("hours.days.{name}"), problems)
                    })
                }))
            }
        };
        let mut occasions = BTreeMap::new();
        for (i, o) in spec.special_occasions.iter().enumerate() {
            let shifts = compile_shifts(
                &o.shifts,
                format_args!("specialOccasions[{i}].shifts"),
                problems,
            );
            match parse_date(&o.date) {
                Some(d) => {
                    if occasions.insert(d, (o.name.clone(), shifts)).is_some() {
                        problems.push(format!(
                            "specialOccasions[{i}].date: {} appears twice",
                            o.date
                        ));
                    }
                }
                _ => problems.push(format!(
                    "specialOccasions[{i}].date: \"{}\" is not YYYY-MM-DD",
                    o.date
                )),
            }
        }
        if problems.len() > before {
            return None;
        }
        Some(TimeFrame {
            tz: tz?,
            tz_name: tz_name.to_string(),
            start: start?,
            start_text: spec.start.clone(),
            end: end.flatten(),
            week,
            occasions: occasions
                .into_iter()
                .map(|(date, (name, shifts))| (date, name, shifts))
                .collect(),
        })
    }

    /// The time frame's zone name (campaigns sharing a zone share its local time).
    pub fn zone_name(&self) -> &str {
        &self.tz_name
    }

    /// Local wall time of `now` in this time frame's zone, with what the weekly check needs
    /// worked out once (campaigns sharing a zone share it for a request).
    pub fn local(&self, now: Timestamp) -> Local {
        let at = self.tz.to_datetime(now);
        let date = at.date();
        let yesterday = date.yesterday().ok();
        let day = |d: Date| usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0);
        Local {
            at,
            date,
            minute: u16::try_from(at.hour()).unwrap_or(0) * 60
                + u16::try_from(at.minute()).unwrap_or(0),
            weekday: day(date),
            yesterday: yesterday.map(|y| (y, day(y))),
        }
    }

    /// R-D2: `Ok(())` when the campaign is inside its time frame at `now`.
    pub fn check(&self, now: Timestamp) -> Result<(), Closed> {
        self.check_local(now, self.local(now))
    }

    /// [`TimeFrame::check`] with the local time already computed (`local` must be
    /// `self.local(now)`), so that one request converts `now` once per zone.
    pub fn check_local(&self, now: Timestamp, local: Local) -> Result<(), Closed> {
        match self.status(now, local) {
            Status::Open => Ok(()),
            Status::NotStarted => Err(Closed::NotStarted {
                starts: format!("{} {}", self.start_text, self.tz_name),
            }),
            Status::Ended => Err(Closed::Ended),
            Status::Occasion(name) => Err(Closed::Occasion {
                name: name.to_string(),
            }),
            Status::OutsideHours => Err(Closed::OutsideHours {
                local: format!(
                    "{} {:02}:{:02} {}",
                    weekday_name(local.date),
                    local.at.hour(),
                    local.at.minute(),
                    self.tz_name
                ),
            }),
        }
    }

    /// R-D2 without building an explanation: the decision path's check.
    pub fn is_open(&self, now: Timestamp, local: Local) -> bool {
        self.status(now, local) == Status::Open
    }

    fn status(&self, now: Timestamp, local: Local) -> Status<'_> {
        if now < self.start {
            return Status::NotStarted;
        }
        if self.end.is_some_and(|end| now >= end) {
            return Status::Ended;
        }
        match &self.week {
            None => Status::Open,
            Some(week) => self.day_status(local, week),
        }
    }

    /// The special occasion on `date`, if any: a date outside the first and last occasions
    /// (every date, for most campaigns) is answered by two comparisons.
    fn occasion(&self, date: Date) -> Option<(&str, &[Shift])> {
        let (first, last) = (self.occasions.first()?, self.occasions.last()?);
        if date < first.0 || date > last.0 {
            return None;
        }
        let i = self.occasions.binary_search_by_key(&date, |o| o.0).ok()?;
        let (_, name, shifts) = self.occasions.get(i)?;
        Some((name, shifts))
    }

    fn day_status(&self, local: Local, week: &[Vec<Shift>; 7]) -> Status<'_> {
        let minute = local.minute;
        let regular = |day: usize| week.get(day).map(Vec::as_slice).unwrap_or(&[]);
        let (today, occasion) = match self.occasion(local.date) {
            Some((name, shifts)) => (shifts, Some(name)),
            None => (regular(local.weekday), None),
        };
        let open_today = today.iter().any(|s| {
            if s.overnight() {
                minute >= s.from
            } else {
                s.from <= minute && minute < s.to
            }
        });
        let spill = occasion.is_none()
            && local.yesterday.is_some_and(|(y, day)| {
                let shifts = match self.occasion(y) {
                    Some((_, s)) => s,
                    None => regular(day),
                };
                shifts.iter().any(|s| s.overnight() && minute < s.to)
            });
        match (open_today || spill, occasion) {
            (true, _) => Status::Open,
            (false, Some(name)) => Status::Occasion(name),
            (false, None) => Status::OutsideHours,
        }
    }
}

/// A request's local time in one time zone ([`TimeFrame::local`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    at: DateTime,
    date: Date,
    /// Minutes since local midnight.
    minute: u16,
    /// Monday = 0.
    weekday: usize,
    /// The day before, and its weekday.
    yesterday: Option<(Date, usize)>,
}

/// Where an instant falls, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status<'a> {
    Open,
    NotStarted,
    Ended,
    OutsideHours,
    Occasion(&'a str),
}

fn all_week() -> [Vec<Shift>; 7] {
    std::array::from_fn(|_| {
        vec![Shift {
            from: 0,
            to: 24 * 60,
        }]
    })
}

#[cfg(test)]
mod tests;
