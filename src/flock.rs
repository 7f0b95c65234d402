//! Flocks and their webhook settings: which set of destinations an alert of a
//! flock goes to. Pure data; the decision itself lives in `routing`.

use serde::{Deserialize, Serialize};

/// The flock every console has and alerts without a flock belong to.
pub const DEFAULT_FLOCK: &str = "flock:default";

/// The reserved flock id that addresses the console-wide (global) destination set.
pub const GLOBAL: &str = "global";

/// Per-flock webhook settings, as the Canary API's `enable` / `disable` /
/// `use_global` endpoints set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlockSettings {
    /// The flock follows the global set (and its enabled state) instead of its own.
    pub use_global: bool,
    /// The flock's own destinations are used (only read when `use_global` is off).
    pub enabled: bool,
}

impl Default for FlockSettings {
    /// New flocks follow the global set, as on a Canary console.
    fn default() -> Self {
        Self { use_global: true, enabled: true }
    }
}

/// Where a destination belongs: the global set or one flock's own set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Scope {
    Global,
    Flock(String),
}

impl Scope {
    /// The API spelling: `global` or the flock id.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Global => GLOBAL,
            Self::Flock(id) => id,
        }
    }
}

impl From<String> for Scope {
    fn from(text: String) -> Self {
        if text == GLOBAL {
            Self::Global
        } else {
            Self::Flock(text)
        }
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.as_str().to_owned()
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
