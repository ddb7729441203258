//! R-M2, R-M3, R-M4, R-M5, R-M6: the measurement stores' logic over in-memory storage: the
//! visitor's ledger, the account's shards and summary. Every expected figure is computed here
//! from what the test sent, visitor by visitor, not from the stores' sums.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::snapshot::Attribution;
use edge_engage::measure::conversion::{AttributionRules, Conversion, ConversionIn};
use edge_engage::measure::funnel::{Fact, FactBatch, Metric};
use edge_engage::measure::ledger::{Ledger, LedgerRules, LATE_MS};
use edge_engage::measure::message::Message;
use edge_engage::measure::sums::{funnel_deltas, read, ArmName, Deltas, Row, Sums};
use edge_engage::measure::totals::{shard_of, Shard, Summary, SHARDS};
use edge_engage::session::{block_on, MemoryStore};
use std::collections::BTreeMap;

const DAY: u64 = 86_400_000;
const T0: u64 = 1_795_000_000_000; // 2026-11-18, a Wednesday

fn day_of(ms: u64) -> String {
    edge_engage::engine::snapshot::day_in(&jiff::tz::TimeZone::UTC, ms)
}

fn rules(model: Attribution) -> LedgerRules {
    LedgerRules {
        attribution: AttributionRules {
            period_ms: 14 * DAY,
            model,
            goals: [
                ("c-sale".to_string(), "purchase".to_string()),
                ("c-help".to_string(), "lead".to_string()),
            ]
            .into(),
        },
        campaigns: ["c-sale", "c-help"].map(String::from).into(),
    }
}

fn batch(visitor: &str, visit: &str, seq: u64, at_ms: u64, facts: Vec<Fact>) -> Message {
    Message::Facts(FactBatch {
        id: format!("acme:{visit}:{seq}"),
        account: "acme".into(),
        visitor: visitor.into(),
        visit: visit.into(),
        at_ms,
        day: day_of(at_ms),
        facts,
        #[cfg(feature = "test-faults")]
        fault: None,
    })
}

fn conversion(visitor: &str, id: &str, goal: &str, at_ms: u64, gbp: Option<f64>) -> Message {
    Message::Conversion(Conversion {
        account: "acme".into(),
        visitor: visitor.into(),
        at_ms,
        day: day_of(at_ms),
        reported: ConversionIn {
            id: id.into(),
            goal: goal.into(),
            value: gbp,
            currency: gbp.map(|_| "GBP".to_string()),
            visitor_id: None,
            visit_id: None,
        },
    })
}

fn id_of(m: &Message) -> String {
    match m {
        Message::Facts(b) => b.id.clone(),
        Message::Conversion(c) => format!("conversion:{}", c.reported.id),
        Message::Call(c) => format!("call:{}", c.instance),
        Message::Clicks(c) => c.id.clone(),
    }
}

/// One account's stores: a ledger per visitor, the shards, the summary, and the pipeline the
/// consumer runs (ledger, then the message's shard, then the shard's flush).
#[derive(Default)]
struct Account {
    ledgers: BTreeMap<String, MemoryStore>,
    shards: BTreeMap<u32, MemoryStore>,
    summary: MemoryStore,
}

impl Account {
    fn ledger(&mut self, visitor: &str) -> &MemoryStore {
        self.ledgers.entry(visitor.to_string()).or_default()
    }

    /// What the consumer does with one message: the funnel rows, the ledger's change, both to
    /// the message's shard under the message's id.
    fn deliver(&mut self, m: &Message, rules: &LedgerRules, now: u64) {
        let id = id_of(m);
        let mut deltas = Deltas::default();
        if let Message::Facts(b) = m {
            deltas.merge(&funnel_deltas(&b.day, &b.facts), 1);
        }
        let visitor = match m {
            Message::Facts(b) => b.visitor.clone(),
            Message::Conversion(c) => c.visitor.clone(),
            _ => String::new(),
        };
        let change =
            block_on(Ledger::new(self.ledger(&visitor)).apply(&id, m, rules, now)).expect("ledger");
        deltas.merge(&change, 1);
        self.send_to_shard(&id, deltas, now);
    }

    fn send_to_shard(&mut self, id: &str, deltas: Deltas, now: u64) {
        let n = shard_of(id);
        let store = self.shards.entry(n).or_default();
        block_on(Shard::new(store, n).apply(&[(id.to_string(), deltas)], now)).expect("shard");
    }

    /// Every shard's alarm, until nothing is pending.
    fn flush(&mut self) {
        for (n, store) in &self.shards {
            let shard = Shard::new(store, *n);
            while let Some(f) = block_on(shard.flush()).expect("flush") {
                block_on(Summary::new(&self.summary).apply(&f)).expect("summary");
                block_on(shard.flushed(f.seq)).expect("flushed");
            }
        }
    }

    fn sums(&mut self) -> BTreeMap<String, Sums> {
        self.flush();
        block_on(Summary::new(&self.summary).rows("2000-01-01", "2100-01-01"))
            .expect("rows")
            .into_iter()
            .map(|(row, sums)| (row.key(), sums))
            .collect()
    }
}

fn arm(day: &str, scope: &str, arm: ArmName, currency: &str) -> String {
    Row::Arm {
        day: day.into(),
        scope: scope.into(),
        arm,
        currency: currency.into(),
    }
    .key()
}

fn conv_row(day: &str, campaign: &str, engagement: &str, metric: &str, currency: &str) -> String {
    Row::Conversion {
        day: day.into(),
        campaign: campaign.into(),
        engagement: engagement.into(),
        metric: metric.into(),
        currency: currency.into(),
    }
    .key()
}

/// A visitor exposed to c-sale, accepting e-chat, converting: the message list.
fn engaged_visitor(v: &str, at: u64) -> Vec<Message> {
    vec![
        batch(
            v,
            &format!("{v}-visit"),
            1,
            at,
            vec![
                Fact::account(Metric::Visits),
                Fact::account(Metric::Exposed),
                Fact::campaign("c-sale", Metric::Exposed),
                Fact::engagement("c-sale", "e-chat", Metric::Exposed),
            ],
        ),
        batch(
            v,
            &format!("{v}-visit"),
            2,
            at + 60_000,
            vec![
                Fact::engagement("c-sale", "e-chat", Metric::Accepted),
                Fact::account(Metric::Engaged),
            ],
        ),
        conversion(
            v,
            &format!("{v}-order"),
            "purchase",
            at + 3_600_000,
            Some(25.5),
        ),
    ]
}

/// R-M2 R-M3: what one engaged visitor adds: its funnel rows, its conversion attributed to
/// the accepted engagement at each level, and one visitor in the exposed arms, converted, with
/// its value.
#[test]
fn an_engaged_visitor_adds_its_funnel_its_attributed_conversion_and_its_arms() {
    let mut account = Account::default();
    let r = rules(Attribution::Last);
    for m in engaged_visitor("v1", T0) {
        account.deliver(&m, &r, T0 + DAY);
    }
    let sums = account.sums();
    let d = day_of(T0);
    assert_eq!(
        sums[&conv_row(&d, "", "", "conversions", "")],
        Sums::count(1)
    );
    for (c, e) in [("", ""), ("c-sale", ""), ("c-sale", "e-chat")] {
        assert_eq!(
            sums[&conv_row(&d, c, e, "conversions_engaged", "")],
            Sums::count(1)
        );
        let revenue = sums[&conv_row(&d, c, e, "revenue_engaged", "GBP")];
        assert_eq!((revenue.n, revenue.sum), (1, 2550));
    }
    for scope in ["", "c-sale"] {
        assert_eq!(sums[&arm(&d, scope, ArmName::Exposed, "")], Sums::unit(1));
        assert_eq!(
            sums[&arm(&d, scope, ArmName::Exposed, "GBP")],
            Sums::unit(2550)
        );
    }
    let visits = Row::Funnel {
        day: d.clone(),
        fact: Fact::account(Metric::Visits),
    };
    assert_eq!(sums[&visits.key()], Sums::count(1));
}

/// R-M2 R-M4: the order messages arrive in does not matter; a conversion delivered before the
/// accept it follows is first counted after exposure, then re-attributed when the accept
/// arrives.
#[test]
fn a_late_accept_re_attributes_and_any_delivery_order_gives_the_same_sums() {
    let r = rules(Attribution::Last);
    let messages = engaged_visitor("v1", T0);
    let mut in_order = Account::default();
    for m in &messages {
        in_order.deliver(m, &r, T0 + DAY);
    }
    let mut late = Account::default();
    let d = day_of(T0);
    let [exposure, accept, purchase] = [0, 1, 2].map(|i| messages[i].clone());
    late.deliver(&purchase, &r, T0 + DAY);
    let first = late.sums();
    assert_eq!(
        first[&conv_row(&d, "", "", "conversions", "")],
        Sums::count(1)
    );
    assert!(!first.contains_key(&conv_row(&d, "", "", "conversions_engaged", "")));
    late.deliver(&exposure, &r, T0 + DAY);
    let exposed = late.sums();
    assert_eq!(
        exposed[&conv_row(&d, "c-sale", "", "conversions_exposed", "")],
        Sums::count(1)
    );
    late.deliver(&accept, &r, T0 + DAY);
    assert_eq!(late.sums(), in_order.sums());
}

/// R-M4: every message delivered twice (a retried delivery), and every flush sent again (an
/// acknowledgement lost): the sums are those of one delivery.
#[test]
fn repeated_messages_and_repeated_flushes_count_once() {
    let r = rules(Attribution::First);
    let mut once = Account::default();
    let mut twice = Account::default();
    for i in 0..40 {
        for m in engaged_visitor(&format!("v{i}"), T0 + i * 600_000) {
            once.deliver(&m, &r, T0 + DAY);
            twice.deliver(&m, &r, T0 + DAY);
            twice.deliver(&m, &r, T0 + DAY);
        }
    }
    // Flushes applied by the summary whose acknowledgement was lost are sent again.
    for (n, store) in &twice.shards {
        let shard = Shard::new(store, *n);
        if let Some(f) = block_on(shard.flush()).unwrap() {
            assert!(block_on(Summary::new(&twice.summary).apply(&f)).unwrap());
            let again = block_on(shard.flush()).unwrap().unwrap();
            assert_eq!(again, f, "the flush in flight is sent again unchanged");
            assert!(!block_on(Summary::new(&twice.summary).apply(&again)).unwrap());
            block_on(shard.flushed(f.seq)).unwrap();
        }
    }
    assert_eq!(twice.sums(), once.sums());
}

/// R-M4: a shard whose write fails applies nothing: the message's retry is applied once.
#[test]
fn a_failed_shard_write_applies_nothing_and_the_retry_counts() {
    let store = MemoryStore::default();
    let shard = Shard::new(&store, 0);
    let mut deltas = Deltas::default();
    deltas.add(
        &Row::Funnel {
            day: "2026-11-18".into(),
            fact: Fact::account(Metric::Visits),
        },
        Sums::count(1),
    );
    store.fail_next_write.set(true);
    assert!(block_on(shard.apply(&[("m1".into(), deltas.clone())], T0)).is_err());
    assert_eq!(block_on(shard.flush()).unwrap(), None);
    assert_eq!(
        block_on(shard.apply(&[("m1".into(), deltas.clone())], T0)).unwrap(),
        ["m1"]
    );
    assert!(block_on(shard.apply(&[("m1".into(), deltas.clone())], T0))
        .unwrap()
        .is_empty());
    assert_eq!(
        block_on(shard.flush()).unwrap().map(|f| f.deltas),
        Some(deltas)
    );
}

/// R-M5: erasing a visitor takes its share out of the sums (the others' stay), a message
/// written before the erasure and delivered after it changes nothing, and a later visit counts
/// anew.
#[test]
fn erasure_takes_the_visitors_share_out_and_late_messages_change_nothing() {
    let r = rules(Attribution::Last);
    let mut with = Account::default();
    let mut without = Account::default();
    for m in engaged_visitor("stays", T0) {
        with.deliver(&m, &r, T0 + DAY);
        without.deliver(&m, &r, T0 + DAY);
    }
    let erased = engaged_visitor("erased", T0 + 1_000);
    for m in &erased {
        with.deliver(m, &r, T0 + DAY);
    }
    let erasure =
        block_on(Ledger::new(with.ledger("erased")).erase("erase:1", T0 + 2 * DAY)).unwrap();
    assert_eq!(erasure.conversions, 1);
    assert_eq!(erasure.visits, vec!["erased-visit".to_string()]);
    let again =
        block_on(Ledger::new(with.ledger("erased")).erase("erase:2", T0 + 2 * DAY)).unwrap();
    assert_eq!(again, erasure, "asked twice, the same erasure");
    with.send_to_shard(&erasure.id, erasure.deltas.clone(), T0 + 2 * DAY);
    with.send_to_shard(&erasure.id, erasure.deltas.clone(), T0 + 2 * DAY);
    // The funnel rows are anonymous counts of visits and stay; the visitor's conversion and
    // arms go.
    let funnel_only = |sums: BTreeMap<String, Sums>| -> BTreeMap<String, Sums> {
        sums.into_iter()
            .filter(|(k, _)| !k.contains("|f|"))
            .collect()
    };
    assert_eq!(funnel_only(with.sums()), funnel_only(without.sums()));
    let late = conversion("erased", "late-order", "purchase", T0 + DAY, Some(9.0));
    with.deliver(&late, &r, T0 + 3 * DAY);
    assert_eq!(
        funnel_only(with.sums()),
        funnel_only(without.sums()),
        "written before, nothing"
    );
    let after = conversion("erased", "new-order", "purchase", T0 + 3 * DAY, None);
    with.deliver(&after, &r, T0 + 3 * DAY);
    let d = day_of(T0 + 3 * DAY);
    assert_eq!(
        with.sums()[&conv_row(&d, "", "", "conversions", "")],
        Sums::count(1)
    );
}

/// R-M3: a visitor enters an arm once per cross-session period: touches within 14 days of its
/// entry are the same entry; a conversion counts for the entry whose period holds it.
#[test]
fn an_arm_entry_lasts_the_cross_session_period() {
    let r = rules(Attribution::Last);
    let mut account = Account::default();
    let held = |visit: &str, at| {
        batch(
            "v",
            visit,
            1,
            at,
            vec![Fact::account(Metric::Held), Fact::account(Metric::Visits)],
        )
    };
    account.deliver(&held("a", T0), &r, T0);
    account.deliver(&held("b", T0 + 5 * DAY), &r, T0 + 5 * DAY);
    account.deliver(&held("c", T0 + 20 * DAY), &r, T0 + 20 * DAY);
    account.deliver(
        &conversion("v", "o1", "lead", T0 + 21 * DAY, None),
        &r,
        T0 + 21 * DAY,
    );
    let sums = account.sums();
    assert_eq!(
        sums[&arm(&day_of(T0), "", ArmName::Held, "")],
        Sums::unit(0)
    );
    assert!(!sums.contains_key(&arm(&day_of(T0 + 5 * DAY), "", ArmName::Held, "")));
    assert_eq!(
        sums[&arm(&day_of(T0 + 20 * DAY), "", ArmName::Held, "")],
        Sums::unit(1)
    );
}

/// R-M4 R-M5: history past change is settled out of the ledger without changing the sums,
/// and an erasure still takes it back.
#[test]
fn settled_history_keeps_its_sums_and_erasure_still_takes_them_back() {
    let r = rules(Attribution::Last);
    let mut account = Account::default();
    for m in engaged_visitor("v", T0) {
        account.deliver(&m, &r, T0);
    }
    let before = account.sums();
    let later = T0 + 14 * DAY + LATE_MS + 2 * DAY;
    let visit = batch("v", "next", 1, later, vec![Fact::account(Metric::Visits)]);
    account.deliver(&visit, &r, later);
    let mut after = account.sums();
    after.retain(|k, _| !k.starts_with(&day_of(later)));
    assert_eq!(after, before, "settling changes no sum");
    let erasure = block_on(Ledger::new(account.ledger("v")).erase("erase", later)).unwrap();
    account.send_to_shard(&erasure.id, erasure.deltas, later);
    let left: Vec<String> = account
        .sums()
        .into_keys()
        .filter(|k| !k.contains("|f|"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// R-M5: a campaign no longer published gets nothing more, and deleting its rows in the
/// summary is final: what its shards still send of it is dropped.
#[test]
fn a_deleted_campaign_gets_nothing_more() {
    let r = rules(Attribution::Last);
    let mut account = Account::default();
    for m in engaged_visitor("v", T0) {
        account.deliver(&m, &r, T0 + DAY);
    }
    account.flush();
    let (funnel, history) =
        block_on(Summary::new(&account.summary).delete_campaign("c-sale", T0 + DAY)).unwrap();
    assert!(funnel > 0 && history > 0);
    let mut without = r.clone();
    without.campaigns.remove("c-sale");
    without.attribution.goals.remove("c-sale");
    let next = conversion("v", "o2", "purchase", T0 + 2 * DAY, None);
    account.deliver(&next, &without, T0 + 2 * DAY);
    let named: Vec<String> = account
        .sums()
        .into_keys()
        .filter(|k| k.contains("c-sale"))
        .collect();
    assert!(named.is_empty(), "{named:?}");
}

/// R-M6: a message's shard is fixed by its id and the shards are all used.
#[test]
fn messages_spread_over_every_shard() {
    let mut seen = vec![0; SHARDS as usize];
    for i in 0..10_000 {
        let n = shard_of(&format!("acme:visit-{i}:1795000000000:1"));
        assert_eq!(n, shard_of(&format!("acme:visit-{i}:1795000000000:1")));
        seen[n as usize] += 1;
    }
    let (min, max) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
    assert!(*min > 100 && *max < 220, "{min}..{max}");
}

/// R-M1: a row key reads back as the row, a line of business with the separator in it too.
#[test]
fn row_keys_read_back() {
    let mut fact = Fact::account(Metric::Prospects);
    fact.line_of_business = "sales | 100% online".into();
    for row in [
        Row::Funnel {
            day: "2026-11-18".into(),
            fact,
        },
        Row::Conversion {
            day: "2026-11-18".into(),
            campaign: "c".into(),
            engagement: "e".into(),
            metric: "revenue_engaged".into(),
            currency: "EUR".into(),
        },
        Row::Arm {
            day: "2026-11-18".into(),
            scope: "".into(),
            arm: ArmName::Held,
            currency: "".into(),
        },
    ] {
        assert_eq!(Row::parse(&row.key()), Some(row));
    }
}

/// R-M3: the report's comparisons from the summary's rows: each arm's visitors, converted and
/// value, added over the range's days.
#[test]
fn the_report_compares_the_arms_of_the_range() {
    let r = rules(Attribution::Last);
    let mut account = Account::default();
    let mut want = BTreeMap::new();
    for i in 0..60u64 {
        let v = format!("v{i}");
        let held = i % 4 == 0;
        let at = T0 + (i % 5) * DAY;
        let metric = if held { Metric::Held } else { Metric::Exposed };
        account.deliver(
            &batch(&v, &format!("{v}-a"), 1, at, vec![Fact::account(metric)]),
            &r,
            at,
        );
        let converts = i % 3 == 0;
        if converts {
            account.deliver(
                &conversion(&v, &format!("o{i}"), "purchase", at + DAY, Some(i as f64)),
                &r,
                at + DAY,
            );
        }
        let slot: &mut (u64, u64, f64) = want.entry(held).or_default();
        slot.0 += 1;
        slot.1 += u64::from(converts);
        slot.2 += if converts { i as f64 } else { 0.0 };
    }
    account.flush();
    let rows =
        block_on(Summary::new(&account.summary).rows(&day_of(T0), &day_of(T0 + 10 * DAY))).unwrap();
    let report = read(&rows, &[(String::new(), String::new())]);
    let rate = report
        .comparisons
        .iter()
        .find(|c| c.metric == "conversion_rate")
        .unwrap();
    let value = report
        .comparisons
        .iter()
        .find(|c| c.metric == "value_per_visitor")
        .unwrap();
    for (shown, held) in [(&rate.control, true), (&rate.exposed, false)] {
        let (n, converted, _) = want[&held];
        assert_eq!(shown.visitors, n);
        assert!((shown.mean - converted as f64 / n as f64).abs() < 1e-12);
    }
    let (n, _, gbp) = want[&false];
    assert!((value.exposed.mean - gbp / n as f64).abs() < 1e-9);
}
