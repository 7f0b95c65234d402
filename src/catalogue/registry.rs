//! The [`Registry`]: every change to flocks, destinations and sources goes
//! through here — the write, the ownership rule (what the config file declares
//! is changed there, never through the API or the console) and the live reload
//! of the running relay's catalogue, so that no caller can store a change and
//! forget to apply it. The HTTP API, the console and the CLI call it; none of
//! them touches the `Store` for the catalogue.
//!
//! It owns no HTTP status codes (that is `api::error`'s) and no SQL (the
//! store's).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Catalogue;
use crate::delivery::Delivery;
use crate::destination::Destination;
use crate::flock::{FlockSettings, DEFAULT_FLOCK};
use crate::ingest::inbound::Source;
use crate::store::{DestinationState, FlockRecord, IfExists, Origin, SourceRecord, Store, StoreError};

/// Why a registry change was refused. Nothing is stored when it fails.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No flock with this id.
    #[error("unknown flock {0:?}")]
    UnknownFlock(String),
    /// No such destination or source.
    #[error("{0}")]
    NotFound(String),
    /// The ownership rule: it belongs to the config file (or always exists).
    #[error("{0}")]
    Owned(String),
    /// It exists already.
    #[error("{0}")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Flocks, destinations and sources: write + ownership rule + reload.
pub struct Registry {
    store: Arc<dyn Store>,
    /// Reloaded after every catalogue change, so the next alert sees it and
    /// the supervisor starts or stops workers. `None` in a command without a
    /// running relay: the relays sharing the store apply the change at their
    /// next catalogue refresh.
    delivery: Option<Arc<Delivery>>,
    /// Flocks the config file declares: they cannot be deleted through the API
    /// (they would come back at the next start), even once it changed them.
    declared_flocks: BTreeSet<String>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("declared_flocks", &self.declared_flocks).finish_non_exhaustive()
    }
}

impl Registry {
    /// The registry of the running relay whose catalogue `delivery` holds.
    pub fn new(delivery: Arc<Delivery>, declared_flocks: BTreeSet<String>) -> Self {
        Self { store: Arc::clone(delivery.store()), delivery: Some(delivery), declared_flocks }
    }

    /// The registry of a command that runs no relay (`flockrelay destinations`).
    pub fn offline(store: Arc<dyn Store>, declared_flocks: BTreeSet<String>) -> Self {
        Self { store, delivery: None, declared_flocks }
    }

    /// The catalogue as stored now (another instance may have changed it).
    pub async fn current(&self) -> Result<Catalogue, StoreError> {
        Catalogue::load(&*self.store).await
    }

    /// Applies a stored change to the running relay: delivery re-reads the
    /// catalogue and the supervisor starts or stops workers. The change is
    /// already durable; if the re-read fails, the periodic refresh picks it up.
    async fn reload(&self) {
        let Some(delivery) = &self.delivery else {
            return;
        };
        if let Err(error) = delivery.reload().await {
            tracing::warn!(%error, "Cannot re-read the catalogue after a change; the periodic refresh will apply it.");
        }
    }

    /// Stores a new flock (the API's own) and applies it.
    pub async fn create_flock(&self, flock: &FlockRecord) -> Result<(), RegistryError> {
        self.store.put_flock(flock).await?;
        self.reload().await;
        Ok(())
    }

    /// Renames a flock and applies it.
    pub async fn rename_flock(&self, id: &str, name: &str) -> Result<(), RegistryError> {
        self.store.rename_flock(id, name).await?;
        self.reload().await;
        Ok(())
    }

    /// Sets a flock's (or the global set's) webhook settings and applies them.
    pub async fn set_flock_settings(&self, id: &str, settings: FlockSettings) -> Result<(), RegistryError> {
        self.store.set_flock_settings(id, settings).await?;
        self.reload().await;
        Ok(())
    }

    /// Why a flock cannot be deleted, if it cannot: `flock:default` always
    /// exists, and a flock the config file declares would come back at the
    /// next start. The one ownership rule of flocks, for the API and the
    /// console alike (the store applies the stored half of it, the flock's
    /// origin, in the delete statement itself).
    pub fn undeletable(&self, flock: &FlockRecord) -> Option<RegistryError> {
        if flock.origin == Origin::Config {
            return Some(declared_flock(&flock.id));
        }
        self.refusal(&flock.id)
    }

    /// The part of the rule that needs no stored row.
    fn refusal(&self, id: &str) -> Option<RegistryError> {
        if id == DEFAULT_FLOCK {
            return Some(RegistryError::Owned(format!("{DEFAULT_FLOCK} always exists and cannot be deleted")));
        }
        self.declared_flocks.contains(id).then(|| declared_flock(id))
    }

    /// Deletes a flock with its webhooks, if [`Registry::undeletable`] allows,
    /// and applies it. The origin is checked by the delete statement, not read
    /// first: a flock the config file takes over meanwhile is never deleted.
    pub async fn delete_flock(&self, id: &str) -> Result<(), RegistryError> {
        if let Some(refusal) = self.refusal(id) {
            return Err(refusal);
        }
        match self.store.delete_flock(id).await {
            Ok(()) => {}
            Err(StoreError::FlockNotFound(_)) => return Err(RegistryError::UnknownFlock(id.to_owned())),
            Err(StoreError::FlockDeclaredInConfig(_)) => return Err(declared_flock(id)),
            Err(error) => return Err(error.into()),
        }
        self.reload().await;
        Ok(())
    }

    /// Stores a destination (the API's own) and applies it. The store refuses
    /// to replace one the config file declares.
    pub async fn add_destination(&self, destination: &Destination, if_exists: IfExists) -> Result<(), RegistryError> {
        self.store.add_destination(destination, Origin::Api, if_exists).await?;
        self.reload().await;
        Ok(())
    }

    /// Deletes API-owned destinations (all or none), cancelling their queued
    /// messages, and applies it; returns how many messages were cancelled.
    pub async fn remove_destinations(&self, ids: &[String]) -> Result<u64, RegistryError> {
        let cancelled = self.store.delete_api_destinations(ids).await?;
        self.reload().await;
        Ok(cancelled)
    }

    /// Sets a destination's state (an operator enabling or disabling it),
    /// stored and applied: its worker starts or stops, and a re-enabled one
    /// is woken at once. The API, the console and the CLI's running relay all
    /// come here.
    pub async fn set_destination_state(
        &self,
        id: &str,
        state: DestinationState,
        reason: Option<&str>,
    ) -> Result<(), RegistryError> {
        self.store.set_destination_state(id, state, reason, chrono::Utc::now()).await?;
        self.reload().await;
        if let Some(delivery) = self.delivery.as_ref().filter(|_| state == DestinationState::Enabled) {
            delivery.waker(id).notify_one();
        }
        Ok(())
    }

    /// Every stored source.
    pub async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        self.store.sources().await
    }

    /// A stored source by id.
    pub async fn source(&self, id: &str) -> Result<Option<SourceRecord>, StoreError> {
        self.store.source(id).await
    }

    /// Stores a new source (the API's own); an existing id is refused.
    pub async fn add_source(&self, source: &Source) -> Result<(), RegistryError> {
        match self.store.add_source(source, Origin::Api).await {
            Ok(()) => Ok(()),
            Err(StoreError::SourceExists(_)) => {
                Err(RegistryError::Exists(format!("source {} exists; remove it first", source.id)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Removes a source added through the API (one from the config file is
    /// removed there). The store checks the origin in the delete itself.
    pub async fn remove_source(&self, id: &str) -> Result<(), RegistryError> {
        match self.store.delete_source(id).await {
            Ok(()) => Ok(()),
            Err(StoreError::SourceNotFound(_)) => Err(RegistryError::NotFound(format!("source {id} not found"))),
            Err(StoreError::SourceDeclaredInConfig(_)) => {
                Err(RegistryError::Owned(format!("source {id} is declared in the config file; remove it there")))
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// The refusal for a flock the config file declares.
fn declared_flock(id: &str) -> RegistryError {
    RegistryError::Owned(format!("flock {id} is declared in the config file; remove it there"))
}
