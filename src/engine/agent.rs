//! Agent state from skill availability (R-D3).

use super::lookup::IdMap;
use super::snapshot::{Engagement, Skill, SkillRef, Snapshot};
pub use super::state::{AgentState, StateSwitches};
use super::zone::Channel;
use serde::{Deserialize, Serialize};

/// What the contact center reports for one skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillAvailability {
    /// Agents logged in and taking conversations.
    pub online_agents: u32,
    /// Free conversation slots across those agents (informational).
    #[serde(default)]
    pub capacity: u32,
    /// Expected wait for a new conversation, in seconds.
    #[serde(default)]
    pub expected_wait_seconds: u32,
}

/// Availability per skill id; a skill with no report counts as having no agent online.
pub type Availability = IdMap<String, SkillAvailability>;

/// R-D3: raw state of one skill against its max wait time: busy only when the expected wait
/// is *longer* than the max wait (seed 000); equal is online.
pub fn skill_state(report: Option<&SkillAvailability>, max_wait_seconds: u32) -> AgentState {
    match report {
        Some(r) if r.online_agents > 0 && r.expected_wait_seconds <= max_wait_seconds => {
            AgentState::Online
        }
        Some(r) if r.online_agents > 0 => AgentState::Busy,
        _ => AgentState::Offline,
    }
}

/// What one engagement reads for its agents' state (R-D3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The skill's own state (all skills: the best of them).
    pub agents: AgentState,
    /// The state the engagement is in: content is always online, messaging follows the agents,
    /// chat reads busy as online with ignore-max-wait and as offline without a busy state.
    pub state: AgentState,
    /// False when that state is disabled for the engagement: it is not shown (R-D3, R-D4 step 1).
    pub shown: bool,
}

/// R-D3: the agents' state of a skill reference: one skill, or the best over all skills.
pub fn agents_state(skills: &[Skill], skill: SkillRef, availability: &Availability) -> AgentState {
    let state_of = |s: &Skill| skill_state(availability.get(&s.id), s.max_wait_seconds);
    match skill {
        SkillRef::One(i) => skills.get(i).map_or(AgentState::Offline, state_of),
        SkillRef::All => skills
            .iter()
            .map(state_of)
            .min_by_key(|s| match s {
                AgentState::Online => 0,
                AgentState::Busy => 1,
                AgentState::Offline => 2,
            })
            .unwrap_or(AgentState::Offline),
    }
}

/// R-D3: the state an engagement of `channel` is in when its agents are `agents`. Decisions
/// show it only when [`Reading::shown`]; button refresh reports [`Reading::state`] (it never
/// removes an engagement, R-D8); offsite clicks need it online (R-O3).
pub fn engagement_state(
    channel: Channel,
    switches: StateSwitches,
    ignore_max_wait: bool,
    agents: AgentState,
) -> Reading {
    let (state, shown) = match channel {
        // Content: whatever the agents' state (decisions do not look it up for content).
        Channel::Banner | Channel::ClickToCall => (AgentState::Online, true),
        Channel::Messaging => (agents, true),
        Channel::Chat => {
            let state = match agents {
                AgentState::Busy if ignore_max_wait => AgentState::Online,
                AgentState::Busy if !switches.busy => AgentState::Offline,
                other => other,
            };
            let shown = match state {
                AgentState::Online => switches.online,
                AgentState::Offline => switches.offline,
                AgentState::Busy => switches.busy,
            };
            (state, shown)
        }
    };
    Reading {
        agents,
        state,
        shown,
    }
}

/// R-D3 for a compiled engagement of `snap`.
pub fn reading(snap: &Snapshot, e: &Engagement, availability: &Availability) -> Reading {
    let agents = agents_state(&snap.skills, e.skill, availability);
    engagement_state(
        e.spec.channel,
        e.spec.states,
        e.spec.ignore_max_wait,
        agents,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-D3: content (not a conversation) reads the same whatever its agents' state, which is
    /// why a decision looks the agents up only for conversations.
    #[test]
    fn r_d3_content_reads_the_same_whatever_the_agents() {
        let states = [AgentState::Online, AgentState::Offline, AgentState::Busy];
        let channels = [
            Channel::Chat,
            Channel::Messaging,
            Channel::Banner,
            Channel::ClickToCall,
        ];
        for channel in channels {
            for bits in 0..16u8 {
                let switches = StateSwitches {
                    online: bits & 1 != 0,
                    offline: bits & 2 != 0,
                    busy: bits & 4 != 0,
                };
                let ignore = bits & 8 != 0;
                let read = |agents| {
                    let r = engagement_state(channel, switches, ignore, agents);
                    (r.state, r.shown)
                };
                let same = states.iter().all(|&a| read(a) == read(AgentState::Online));
                assert!(same || channel.is_conversation(), "{channel:?} {bits}");
            }
        }
    }

    fn report(online: u32, wait: u32) -> SkillAvailability {
        SkillAvailability {
            online_agents: online,
            capacity: 0,
            expected_wait_seconds: wait,
        }
    }

    #[test]
    fn r_d3_skill_state_from_agents_and_wait() {
        assert_eq!(skill_state(Some(&report(2, 30)), 60), AgentState::Online);
        // Seed 000: busy only when the wait is *longer* than the max wait; equal is online.
        assert_eq!(skill_state(Some(&report(2, 60)), 60), AgentState::Online);
        assert_eq!(skill_state(Some(&report(2, 61)), 60), AgentState::Busy);
        assert_eq!(skill_state(Some(&report(0, 0)), 60), AgentState::Offline);
        assert_eq!(skill_state(None, 60), AgentState::Offline);
    }

    fn chat(switches: StateSwitches, ignore: bool, agents: AgentState) -> Option<AgentState> {
        let r = engagement_state(Channel::Chat, switches, ignore, agents);
        r.shown.then_some(r.state)
    }

    #[test]
    fn r_d3_busy_off_by_default_ignore_max_wait_and_disabled_states() {
        let d = StateSwitches::default();
        assert_eq!(chat(d, false, AgentState::Busy), Some(AgentState::Offline));
        assert_eq!(chat(d, true, AgentState::Busy), Some(AgentState::Online));
        let busy_on = StateSwitches { busy: true, ..d };
        assert_eq!(
            chat(busy_on, false, AgentState::Busy),
            Some(AgentState::Busy)
        );
        let no_offline = StateSwitches {
            offline: false,
            ..d
        };
        assert_eq!(chat(no_offline, false, AgentState::Offline), None);
        assert_eq!(chat(no_offline, false, AgentState::Busy), None);
        let no_online = StateSwitches { online: false, ..d };
        assert_eq!(chat(no_online, false, AgentState::Online), None);
    }

    #[test]
    fn r_d3_content_always_online_messaging_follows_agents() {
        let d = StateSwitches::default();
        for agents in [AgentState::Online, AgentState::Busy, AgentState::Offline] {
            for c in [Channel::Banner, Channel::ClickToCall] {
                let r = engagement_state(c, d, false, agents);
                assert_eq!((r.state, r.shown), (AgentState::Online, true));
            }
            let m = engagement_state(Channel::Messaging, d, false, agents);
            assert_eq!((m.state, m.shown), (agents, true));
        }
    }
}
