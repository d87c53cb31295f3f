//! DSN key checks with a short-lived cache of known keys, so the hot path rarely reads the
//! database. Unknown keys are never cached (a new project works at once); a disabled key stops
//! working within [`KEY_TTL`]. Each project's grouping rules are cached beside its keys, parsed,
//! for as long: a rule change applies to events received [`KEY_TTL`] later at most.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::error::IngestError;
use crate::grouping::ProjectRules;
use crate::store::{ProjectKey, Store};

pub const KEY_TTL: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct KeyCache {
    store: Store,
    known: RwLock<HashMap<String, (ProjectKey, Instant)>>,
    rules: RwLock<HashMap<i64, (Arc<ProjectRules>, Instant)>>,
}

impl KeyCache {
    pub fn new(store: Store) -> Self {
        KeyCache {
            store,
            known: RwLock::new(HashMap::new()),
            rules: RwLock::new(HashMap::new()),
        }
    }

    /// The project's grouping rules, parsed. Rules that no longer parse (they are checked when
    /// set) fall back to the built-in ones rather than refusing events.
    pub async fn project_rules(&self, project_id: i64) -> Result<Arc<ProjectRules>, IngestError> {
        if let Some((rules, at)) = self
            .rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project_id)
            && at.elapsed() < KEY_TTL
        {
            return Ok(rules.clone());
        }
        let (stacktrace, fingerprints) = self
            .store
            .grouping_rules(project_id)
            .await
            .map_err(|e| IngestError::Internal(format!("rules lookup failed: {e}")))?;
        let rules = Arc::new(
            ProjectRules::parse(&stacktrace, &fingerprints).unwrap_or_else(|e| {
                tracing::warn!(project_id, error = %e, "ignoring the project's grouping rules");
                ProjectRules::default()
            }),
        );
        self.rules
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project_id, (rules.clone(), Instant::now()));
        Ok(rules)
    }

    /// Whether a request for `project_id` passed [`KeyCache::authorize`] lately (its rules are
    /// cached only then), so that per-project labels come from real projects alone.
    pub fn is_authorized_project(&self, project_id: i64) -> bool {
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&project_id)
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
        if let Some((key, at)) = self
            .known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(public_key)
            && at.elapsed() < KEY_TTL
        {
            return Ok(Some(key.clone()));
        }
        let found = self
            .store
            .find_key(public_key)
            .await
            .map_err(|e| IngestError::Internal(format!("key lookup failed: {e}")))?;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        match &found {
            Some(key) => known.insert(public_key.to_owned(), (key.clone(), Instant::now())),
            None => known.remove(public_key),
        };
        Ok(found)
    }
}
