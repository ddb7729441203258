//! Agent state from skill availability (R-D3).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
pub type Availability = HashMap<String, SkillAvailability>;

/// Engagement state codes as the web tag knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum AgentState {
    /// 1: agents online and the expected wait is under the skill's max wait time.
    Online,
    /// 2: no agent online.
    Offline,
    /// 4: agents online, but the expected wait is at or over the max wait time.
    Busy,
}

impl AgentState {
    /// The lpTag state code.
    pub fn code(self) -> u8 {
        match self {
            AgentState::Online => 1,
            AgentState::Offline => 2,
            AgentState::Busy => 4,
        }
    }

    /// The name used in JSON and explanations.
    pub fn name(self) -> &'static str {
        match self {
            AgentState::Online => "online",
            AgentState::Offline => "offline",
            AgentState::Busy => "busy",
        }
    }
}

/// Raw state of one skill against its max wait time.
pub fn skill_state(report: Option<&SkillAvailability>, max_wait_seconds: u32) -> AgentState {
    match report {
        Some(r) if r.online_agents > 0 && r.expected_wait_seconds < max_wait_seconds => {
            AgentState::Online
        }
        Some(r) if r.online_agents > 0 => AgentState::Busy,
        _ => AgentState::Offline,
    }
}

/// Which states an engagement may be shown in, and how busy is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateSwitches {
    /// Shown while online (default on).
    #[serde(default = "yes")]
    pub online: bool,
    /// Shown while offline (default on).
    #[serde(default = "yes")]
    pub offline: bool,
    /// A distinct busy state (default off: busy is then treated as offline).
    #[serde(default)]
    pub busy: bool,
}

fn yes() -> bool {
    true
}

impl Default for StateSwitches {
    fn default() -> Self {
        StateSwitches {
            online: true,
            offline: true,
            busy: false,
        }
    }
}

/// R-D3: the state an engagement reads for `raw` agents, before disabled states are applied:
/// busy is online with ignore-max-wait, and offline when the engagement has no busy state.
pub fn effective_state(
    raw: AgentState,
    switches: StateSwitches,
    ignore_max_wait: bool,
) -> AgentState {
    match raw {
        AgentState::Busy if ignore_max_wait => AgentState::Online,
        AgentState::Busy if !switches.busy => AgentState::Offline,
        other => other,
    }
}

/// R-D3: the state a conversation engagement is shown in, or `None` when its state is disabled.
/// `raw` is the skill's state; `ignore_max_wait` reads busy as online.
pub fn engagement_state(
    raw: AgentState,
    switches: StateSwitches,
    ignore_max_wait: bool,
) -> Option<AgentState> {
    let effective = effective_state(raw, switches, ignore_max_wait);
    let allowed = match effective {
        AgentState::Online => switches.online,
        AgentState::Offline => switches.offline,
        AgentState::Busy => switches.busy,
    };
    allowed.then_some(effective)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(skill_state(Some(&report(2, 60)), 60), AgentState::Busy);
        assert_eq!(skill_state(Some(&report(0, 0)), 60), AgentState::Offline);
        assert_eq!(skill_state(None, 60), AgentState::Offline);
    }

    #[test]
    fn r_d3_busy_off_by_default_ignore_max_wait_and_disabled_states() {
        let d = StateSwitches::default();
        assert_eq!(
            engagement_state(AgentState::Busy, d, false),
            Some(AgentState::Offline)
        );
        assert_eq!(
            engagement_state(AgentState::Busy, d, true),
            Some(AgentState::Online)
        );
        let busy_on = StateSwitches { busy: true, ..d };
        assert_eq!(
            engagement_state(AgentState::Busy, busy_on, false),
            Some(AgentState::Busy)
        );
        let no_offline = StateSwitches {
            offline: false,
            ..d
        };
        assert_eq!(
            engagement_state(AgentState::Offline, no_offline, false),
            None
        );
        assert_eq!(engagement_state(AgentState::Busy, no_offline, false), None);
        let no_online = StateSwitches { online: false, ..d };
        assert_eq!(engagement_state(AgentState::Online, no_online, false), None);
    }
}
