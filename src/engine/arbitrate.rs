//! Zone arbitration (R-D4 steps 2-4): among the candidates a zone has left after the visit's
//! rules, keep the best class, draw a priority tier, then break the tie. Both draws hash the
//! visit id ([`super::draw::zone_draws`]), so a visit asking again gets the same answer.

use super::draw::zone_draws;
use super::offer::VisitCandidate;
use super::snapshot::{Priority, PriorityWeights};
pub use super::trace::Class;
use super::trace::{Explained, Verdict};
use serde::{Deserialize, Serialize};

/// The outcome of arbitration in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    /// Index of the winner in the list given.
    pub index: usize,
    /// The best class present.
    pub class: Class,
    /// The tier drawn.
    pub tier: Priority,
    /// Tier draw and tie draw, each in `[0, 1)`.
    pub draws: [f64; 2],
}

/// R-D4 steps 2-4 over one zone's candidates, given as (class, priority): keep the best class,
/// draw a tier with the account's weights renormalised over the tiers present (uniform if
/// they are all 0), then one candidate of that tier uniformly. Allocates nothing: a zone is
/// arbitrated on every page view.
pub fn choose(
    account: &str,
    weights: &PriorityWeights,
    zone: &str,
    visit_id: &str,
    items: impl Iterator<Item = (Class, Priority)> + Clone,
) -> Option<Choice> {
    // One pass: the best class, and how many of its candidates each tier has, by the tier's
    // place in ORDER (Priority's own order, so `tier as usize`).
    const ORDER: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];
    let mut best: Option<Class> = None;
    let mut per_tier = [0usize; 3];
    for (c, p) in items.clone() {
        match best {
            Some(b) if c > b => continue,
            Some(b) if c == b => {}
            _ => {
                best = Some(c);
                per_tier = [0; 3];
            }
        }
        if let Some(n) = per_tier.get_mut(p as usize) {
            *n += 1;
        }
    }
    let class = best?;
    let mut tiers = ORDER;
    let mut count = 0;
    for (t, &n) in ORDER.iter().zip(&per_tier) {
        if n > 0 {
            if let Some(slot) = tiers.get_mut(count) {
                *slot = *t;
                count += 1;
            }
        }
    }
    let tiers = tiers.get(..count).unwrap_or(&[]);
    let total: u32 = tiers.iter().map(|t| weights.of(*t)).sum();
    let [tier_draw, tie_draw] = zone_draws(account, zone, visit_id);
    let tier = if total == 0 {
        let i = (tier_draw * tiers.len() as f64) as usize;
        tiers.get(i).or(tiers.last()).copied()?
    } else {
        let target = tier_draw * f64::from(total);
        let mut acc = 0.0;
        let mut chosen = tiers.last().copied()?;
        for t in tiers {
            acc += f64::from(weights.of(*t));
            if target < acc {
                chosen = *t;
                break;
            }
        }
        chosen
    };
    let n = per_tier.get(tier as usize).copied().unwrap_or(0);
    let pick = ((tie_draw * n as f64) as usize).min(n.saturating_sub(1));
    let index = items
        .enumerate()
        .filter(|&(_, (c, p))| c == class && p == tier)
        .nth(pick)?
        .0;
    Some(Choice {
        index,
        class,
        tier,
        draws: [tier_draw, tie_draw],
    })
}

/// Why a candidate lost its zone to `winner_id` (R-P3).
fn lost_reason(class: Class, priority: Priority, choice: &Choice, winner_id: &str) -> String {
    if class != choice.class {
        format!(
            "class {class:?} loses to {:?} ({winner_id} shown)",
            choice.class
        )
    } else if priority != choice.tier {
        format!(
            "{} priority; the draw chose {} ({winner_id} shown)",
            priority.name(),
            choice.tier.name()
        )
    } else {
        format!("random tie-break chose {winner_id}")
    }
}

/// R-D4 steps 2-4 for one zone of one visit: the winner among `open`, the candidates the
/// visit's rules left. With `verdicts`, every candidate's verdict is added (R-P3).
pub fn arbitrate<'c>(
    account: &str,
    weights: &PriorityWeights,
    zone: &str,
    visit_id: &str,
    open: &[&'c VisitCandidate<'_>],
    verdicts: Option<&mut Vec<Explained>>,
) -> Option<&'c VisitCandidate<'c>> {
    if verdicts.is_none() {
        if let [only] = open {
            // A lone candidate wins whatever the draws; only an explanation shows them.
            return Some(*only);
        }
    }
    let items = open.iter().map(|c| (c.class, c.priority));
    let choice = choose(account, weights, zone, visit_id, items)?;
    let winner = open.get(choice.index).copied()?;
    if let Some(verdicts) = verdicts {
        for (i, c) in open.iter().enumerate() {
            let verdict = if i == choice.index {
                Verdict::Won {
                    zone: zone.to_string(),
                    class: choice.class,
                    tier: choice.tier,
                    draws: choice.draws,
                }
            } else {
                Verdict::Lost {
                    zone: zone.to_string(),
                    reason: lost_reason(c.class, c.priority, &choice, &winner.engagement_id),
                }
            };
            verdicts.push(Explained {
                campaign_id: c.campaign_id.to_string(),
                engagement_id: c.engagement_id.to_string(),
                verdict,
            });
        }
    }
    Some(winner)
}
