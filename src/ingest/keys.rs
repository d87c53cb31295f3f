//! DSN key checks with a short-lived cache of known keys, so the hot path rarely reads the
//! database. Unknown keys are never cached (a new project works at once); a disabled key stops
//! working within [`KEY_TTL`].

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::error::IngestError;
use crate::store::{ProjectKey, Store};

pub const KEY_TTL: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct KeyCache {
    store: Store,
    known: RwLock<HashMap<String, (ProjectKey, Instant)>>,
}

impl KeyCache {
    pub fn new(store: Store) -> Self {
        KeyCache {
            store,
            known: RwLock::new(HashMap::new()),
        }
    }

    /// Checks that `public_key` is an active key of `project_id`.
    pub async fn authorize(&self, public_key: &str, project_id: i64) -> Result<(), IngestError> {
        let key = self
            .lookup(public_key)
            .await?
            .ok_or(IngestError::UnknownKey)?;
        if key.project_id != project_id {
            return Err(IngestError::WrongProject);
        }
        if !key.active {
            return Err(IngestError::DisabledKey);
        }
        Ok(())
    }

    async fn lookup(&self, public_key: &str) -> Result<Option<ProjectKey>, IngestError> {
        if let Some((key, at)) = self.known.read().expect("key cache lock").get(public_key)
            && at.elapsed() < KEY_TTL
        {
            return Ok(Some(key.clone()));
        }
        let found = self
            .store
            .find_key(public_key)
            .await
            .map_err(|e| IngestError::Internal(format!("key lookup failed: {e}")))?;
        let mut known = self.known.write().expect("key cache lock");
        match &found {
            Some(key) => known.insert(public_key.to_owned(), (key.clone(), Instant::now())),
            None => known.remove(public_key),
        };
        Ok(found)
    }
}
