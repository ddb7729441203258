//! A deterministic scale account for benchmarks: many campaigns and engagements with
//! realistic targeting, entry points, schedules and zones. Built natively and for
//! wasm32-wasip1, never into the Worker: a fixture tool, never on a request path, so
//! fixed-size indexing is allowed here.
#![allow(clippy::indexing_slicing)]

use serde_json::{json, Value};

/// A small deterministic generator (64-bit LCG), so a seed always gives the same account.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Entry points in the scale account (`/category-{k}` pages, sections, a few regexes).
pub const ENTRY_POINTS: u64 = 50;
/// Skills in the scale account.
pub const SKILLS: u64 = 20;

/// The scale account's snapshot JSON: `engagements` spread over `engagements / 4` campaigns.
pub fn snapshot(seed: u64, engagements: usize) -> String {
    let mut r = Rng(seed);
    let campaigns = (engagements / 4).max(1);
    let skills: Vec<Value> = (0..SKILLS)
        .map(|i| json!({"id": format!("skill-{i}"), "name": format!("Skill {i}"), "maxWaitSeconds": 60 + 30 * (i % 5)}))
        .collect();
    let mut entry_points = vec![json!({"id": "ep-all", "name": "Entire site"})];
    for k in 0..ENTRY_POINTS {
        entry_points.push(match k % 5 {
            0 => json!({"id": format!("ep-{k}"), "sections": [format!("section-{k}")]}),
            1 => json!({"id": format!("ep-{k}"), "include": [{"regex": format!("^https://shop\\.example/category-{k}/[a-z0-9-]+$")}]}),
            _ => json!({"id": format!("ep-{k}"), "include": [{"contains": format!("/category-{k}/")}],
                        "exclude": [{"contains": "/checkout"}]}),
        });
    }
    let formats = [
        ("overlay", None, None),
        ("toaster", None, None),
        ("peelingCorner", None, None),
        ("sticky", Some("left"), None),
        ("slideOut", Some("right"), None),
        ("embedded", None, Some(())),
    ];
    let countries = ["GB", "US", "FR", "DE", "IE", "ES", "IT", "NL"];
    let mut list = Vec::with_capacity(campaigns);
    let mut made = 0;
    for c in 0..campaigns {
        let per = if c + 1 == campaigns {
            engagements - made
        } else {
            engagements / campaigns
        };
        let mut engs = Vec::with_capacity(per);
        for _ in 0..per {
            let (format, side, embedded) = formats[r.below(formats.len() as u64) as usize];
            let channel = match r.below(10) {
                0..=5 => "chat",
                6..=7 => "messaging",
                _ => "banner",
            };
            let mut e = json!({
                "id": format!("e-{made}"), "revision": 1 + r.below(9), "name": format!("Engagement {made}"),
                "source": "web", "format": format, "channel": channel,
                "entryPoint": if r.below(10) == 0 { "ep-all".to_string() } else { format!("ep-{}", r.below(ENTRY_POINTS)) },
                "window": {"id": format!("w-{}", r.below(10))},
            });
            if channel != "banner" {
                e["skill"] = json!(format!("skill-{}", r.below(SKILLS)));
            }
            if let Some(side) = side {
                e["side"] = json!(side);
            }
            if embedded.is_some() {
                e["embeddedDivId"] = json!(format!("slot-{}", r.below(20)));
            }
            if r.below(3) == 0 {
                e["behavior"] = json!({"cartValue": {"$gte": r.below(200)}});
            }
            engs.push(e);
            made += 1;
        }
        let priority = ["high", "medium", "low"][r.below(3) as usize];
        let hours = if r.below(2) == 0 {
            json!({"kind": "all"})
        } else {
            json!({"kind": "weekly", "days": {"mon": [{"from": "08:00", "to": "20:00"}], "tue": [{"from": "08:00", "to": "20:00"}],
                "wed": [{"from": "08:00", "to": "20:00"}], "thu": [{"from": "08:00", "to": "20:00"}],
                "fri": [{"from": "08:00", "to": "18:00"}, {"from": "21:00", "to": "02:00"}], "sat": [{"from": "10:00", "to": "16:00"}]}})
        };
        let audience = match r.below(3) {
            0 => json!({}),
            1 => {
                json!({"country": {"$in": [countries[r.below(8) as usize], countries[r.below(8) as usize], "GB"]}})
            }
            _ => json!({"$or": [{"device": "mobile"}, {"returning": true}]}),
        };
        let tz = ["Europe/London", "America/New_York", "Asia/Tokyo"][r.below(3) as usize];
        list.push(json!({
            "id": format!("c-{c}"), "name": format!("Campaign {c}"),
            "status": if r.below(20) == 0 { "unpublished" } else { "published" },
            "priority": priority, "controlGroupPercent": 5 * r.below(3), "lineOfBusiness": format!("lob-{}", r.below(4)),
            "timeFrame": {"timeZone": tz,
                          "start": "2026-01-01T00:00", "hours": hours,
                          "specialOccasions": [{"name": "Christmas", "date": "2026-12-25"}]},
            "audience": audience, "engagements": engs,
        }));
    }
    json!({
        "schemaVersion": 1,
        "account": {"id": "scale", "name": "Scale test", "timeZone": "Europe/London", "controlGroupPercent": 0,
                    "defaultOfflineSurveyUrl": "https://shop.example/survey"},
        "skills": skills, "entryPoints": entry_points, "campaigns": list,
    })
    .to_string()
}

/// Availability for the scale account: most skills online, some busy, some offline.
pub fn availability() -> Value {
    let skills: serde_json::Map<String, Value> = (0..SKILLS)
        .map(|i| {
            let report = match i % 4 {
                0 => json!({"onlineAgents": 0}),
                1 => json!({"onlineAgents": 2, "expectedWaitSeconds": 400}),
                _ => json!({"onlineAgents": 5, "expectedWaitSeconds": 20}),
            };
            (format!("skill-{i}"), report)
        })
        .collect();
    json!({ "skills": skills })
}

/// What the benchmarks and the V8 timing (`examples/engine_timing.rs`) share: the visitors,
/// zones and the one decision they time, so that both measure the same thing.
pub mod bench {
    use crate::engine::agent::Availability;
    use crate::engine::candidate::{evaluate, Inputs};
    use crate::engine::decision::visit_request;
    use crate::engine::plan::decide;
    use crate::engine::snapshot::Snapshot;
    use crate::engine::visit::{VisitRequest, VisitState};
    use crate::engine::visitor::{Edge, PageView, Visitor};
    use crate::engine::zone::Zone;
    use crate::measure::funnel::Tally;
    use serde_json::{json, Map, Value};

    /// The time every timed decision is made at, 2026-11-23T10:00:00Z (a constant, so that a
    /// timed decision does not include parsing it).
    pub const NOW: jiff::Timestamp = jiff::Timestamp::constant(1_795_428_000, 0);

    /// A visitor from GB on desktop, on `url` with `sections` and attributes `attrs`.
    pub fn visitor(url: &str, sections: &[String], attrs: Value) -> Option<Visitor> {
        let url = url::Url::parse(url).ok()?;
        let page = PageView {
            sections,
            ..PageView::at(&url)
        };
        let edge = Edge {
            country: Some("GB".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
            ..Edge::default()
        };
        let attrs: Map<String, Value> = serde_json::from_value(attrs).ok()?;
        Some(Visitor::new("visitor-0001", "visit-1", &page, attrs, &edge))
    }

    /// Zones by name (unknown names are left out).
    pub fn zones(names: &[&str]) -> Vec<Zone> {
        names.iter().filter_map(|z| Zone::parse(z)).collect()
    }

    /// The demo account's timed visitor: the boots category page, no attributes.
    pub fn demo_visitor() -> Option<Visitor> {
        visitor(
            "https://www.demo-outfitters.example/shop/boots",
            &[],
            json!({}),
        )
    }

    /// The demo account's four timed zones.
    pub fn demo_zones() -> Vec<Zone> {
        zones(&["left", "right", "proactive", "embedded:product-chat"])
    }

    /// The demo's agents for the timed decisions: sales and support online.
    pub fn demo_availability() -> Option<Availability> {
        serde_json::from_value(json!({
            "sales": {"onlineAgents": 4, "expectedWaitSeconds": 35},
            "support": {"onlineAgents": 2, "expectedWaitSeconds": 90}
        }))
        .ok()
    }

    /// The scale account's agents ([`super::availability`]), as a decision takes them.
    pub fn scale_availability() -> Option<Availability> {
        serde_json::from_value(super::availability().get("skills")?.clone()).ok()
    }

    /// The scale account's timed visitor: a category page, a section, a cart.
    pub fn scale_visitor() -> Option<Visitor> {
        visitor(
            "https://shop.example/category-7/boots-42",
            &["section-10".to_string()],
            json!({"cartValue": 120, "returning": true}),
        )
    }

    /// The scale account's five timed zones.
    pub fn scale_zones() -> Vec<Zone> {
        zones(&[
            "left",
            "right",
            "proactive",
            "embedded:slot-3",
            "embedded:slot-7",
        ])
    }

    /// A timed decision's inputs: at [`NOW`], not explained.
    pub fn inputs<'a>(v: &'a Visitor, zones: &'a [Zone], avail: &'a Availability) -> Inputs<'a> {
        Inputs {
            visitor: v,
            zones,
            now: NOW,
            availability: avail,
            explain: false,
        }
    }

    /// The request the scale account's timed decision sends to the visit's object, for its
    /// first page view (page kept): what both sides of the hop are timed on.
    pub fn scale_visit_request<'s>(
        snap: &'s Snapshot,
        v: &'s Visitor,
        avail: &Availability,
    ) -> VisitRequest<'s> {
        let zones = scale_zones();
        let eval = evaluate(snap, &inputs(v, &zones, avail));
        visit_request(snap, &eval, v, "page-1", 1, false).keep_page(v)
    }

    /// [`scale_visit_request`] as JSON, for the scale snapshot of `scale_fixture`'s defaults.
    pub fn scale_visit_request_json() -> Option<String> {
        let text = super::snapshot(7, 2_000);
        let snap = crate::engine::snapshot::compile(&text, "scale", 1).ok()?;
        let visitor = scale_visitor()?;
        let request = scale_visit_request(&snap, &visitor, &scale_availability()?);
        serde_json::to_string(&request).ok()
    }

    /// What the scale account's visit object stores after five page views of
    /// [`scale_visit_request_json`]'s request, as JSON: `{"visit": VisitState, "tally": Tally}`.
    pub fn scale_visit_values_json() -> Option<String> {
        let text = scale_visit_request_json()?;
        let mut request: VisitRequest = serde_json::from_str(&text).ok()?;
        let (mut visit, mut tally) = (VisitState::default(), Tally::default());
        let mut issued = 0;
        for page in 1..=5_u64 {
            request.page_id = format!("page-{page}").into();
            request.now_ms = NOW.as_millisecond().unsigned_abs() + page * 5_000;
            let answer = visit.decide(&request, &mut || {
                issued += 1;
                format!("ctx-{issued}")
            });
            tally.decided(&request, &answer, visit.first_activity_ms, "2026-11-23");
        }
        serde_json::to_string(&json!({ "visit": visit, "tally": tally })).ok()
    }

    /// One decision at [`NOW`]: the number of engagements shown.
    pub fn decide_count(
        snap: &Snapshot,
        v: &Visitor,
        zones: &[Zone],
        avail: &Availability,
    ) -> usize {
        decide(snap, &inputs(v, zones, avail), &mut || String::from("ctx"))
            .engagements
            .len()
    }

    #[cfg(test)]
    mod tests {
        /// The timed decisions are made at the documented instant.
        #[test]
        fn now_is_the_documented_instant() {
            assert_eq!(
                "2026-11-23T10:00:00Z".parse::<jiff::Timestamp>().ok(),
                Some(super::NOW)
            );
        }
    }
}
