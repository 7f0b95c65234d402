//! The catalogue: a snapshot of the stored flocks and destinations that ingest
//! resolves against and workers send with. Reloaded after every change and
//! periodically (another instance may have changed the shared database).

pub mod registry;

use std::collections::BTreeMap;

use crate::alert::Alert;
use crate::config::Config;
use crate::destination::Destination;
use crate::flock::{FlockSettings, DEFAULT_FLOCK, GLOBAL};
use crate::routing;
use crate::store::{FlockRecord, Origin, StateRecord, Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    flocks: BTreeMap<String, FlockRecord>,
    destinations: Vec<Destination>,
    /// Each destination's stored state (who disabled it, why, when).
    states: BTreeMap<String, StateRecord>,
}

/// An alert names a flock the relay does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flock {0:?}")]
pub struct UnknownFlock(pub String);

impl Catalogue {
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let flocks = store.flocks().await?.into_iter().map(|flock| (flock.id.clone(), flock)).collect();
        let states =
            store.destination_states().await?.into_iter().map(|state| (state.destination_id.clone(), state)).collect();
        Ok(Self { flocks, destinations: store.destinations().await?, states })
    }

    /// A destination's stored state, when it is stored.
    pub fn state(&self, id: &str) -> Option<&StateRecord> {
        self.states.get(id)
    }

    /// Every stored flock, the `global` record included, in id order.
    pub fn flocks(&self) -> impl Iterator<Item = &FlockRecord> {
        self.flocks.values()
    }

    /// A stored flock (or the `global` record) by id.
    pub fn flock(&self, id: &str) -> Option<&FlockRecord> {
        self.flocks.get(id)
    }

    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    pub fn destination(&self, id: &str) -> Option<&Destination> {
        self.destinations.iter().find(|destination| destination.id == id)
    }

    /// Whether flocks following the global set get notifications.
    pub fn global_enabled(&self) -> bool {
        self.flocks.get(GLOBAL).is_none_or(|global| global.settings.enabled)
    }

    /// A flock's settings; `flock:default` exists even when never stored.
    pub fn flock_settings(&self, id: &str) -> Option<FlockSettings> {
        match self.flocks.get(id) {
            Some(flock) if id != GLOBAL => Some(flock.settings),
            None if id == DEFAULT_FLOCK => Some(FlockSettings::default()),
            _ => None,
        }
    }

    /// The destinations `alert` goes to.
    pub fn resolve(&self, alert: &Alert) -> Result<Vec<&Destination>, UnknownFlock> {
        let settings = self.flock_settings(&alert.flock_id).ok_or_else(|| UnknownFlock(alert.flock_id.clone()))?;
        Ok(routing::resolve(alert, &settings, self.global_enabled(), &self.destinations))
    }
}

/// The name `flock:default` gets when the config file does not declare it.
pub const DEFAULT_FLOCK_NAME: &str = "Default Flock";

/// What the config file declares, as store records: the global set's switch,
/// the flocks (`flock:default` always among them), and the destinations.
pub fn from_config(config: &Config) -> (Vec<FlockRecord>, Vec<Destination>) {
    let mut flocks = vec![FlockRecord {
        id: GLOBAL.to_owned(),
        name: "Global".to_owned(),
        settings: FlockSettings { use_global: false, enabled: config.global.enabled },
        origin: Origin::Config,
    }];
    flocks.extend(config.flocks.iter().map(|(id, flock)| FlockRecord {
        id: id.clone(),
        name: flock.name.clone(),
        settings: FlockSettings { use_global: flock.use_global, enabled: flock.enabled },
        origin: Origin::Config,
    }));
    // `flock:default` always exists, so it is stored even when the file is silent.
    if !config.flocks.contains_key(DEFAULT_FLOCK) {
        flocks.push(FlockRecord {
            id: DEFAULT_FLOCK.to_owned(),
            name: DEFAULT_FLOCK_NAME.to_owned(),
            settings: FlockSettings::default(),
            origin: Origin::Config,
        });
    }
    (flocks, config.destinations())
}
