//! The states an engagement's skill can be in (R-D3) and which of them an engagement shows in:
//! plain values below the snapshot, which names them, and the rules that read them.

use serde::{Deserialize, Serialize};

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
