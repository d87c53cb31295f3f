//! DSN key checks with a short-lived cache of known keys, so the hot path rarely reads the
//! database. Unknown keys are never cached (a new project works at once); a disabled key stops
//! working within [`KEY_TTL`]. Each project's grouping rules (parsed) and quotas are cached
//! beside its keys for as long: a change applies to events received [`KEY_TTL`] later at most.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::grouping::ProjectRules;
use crate::ingest::error::IngestError;
use crate::store::quotas::ProjectQuotas;
use crate::store::{ProjectId, ProjectKey, Store};

pub const KEY_TTL: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct KeyCache {
    store: Store,
    known: RwLock<HashMap<String, (ProjectKey, Instant)>>,
    projects: RwLock<HashMap<ProjectId, (ProjectSettings, Instant)>>,
}

/// What ingest needs of a project besides its keys.
#[derive(Debug, Clone)]
struct ProjectSettings {
    rules: Arc<ProjectRules>,
    quotas: ProjectQuotas,
}

impl KeyCache {
    pub fn new(store: Store) -> Self {
        KeyCache {
            store,
            known: RwLock::new(HashMap::new()),
            projects: RwLock::new(HashMap::new()),
        }
    }

    /// The project's caps.
    pub async fn project_quotas(
        &self,
        project_id: ProjectId,
    ) -> Result<ProjectQuotas, IngestError> {
        Ok(self.project(project_id).await?.quotas)
    }

    /// The project's grouping rules, parsed. Rules that no longer parse (they are checked when
    /// set) fall back to the built-in ones rather than refusing events.
    pub async fn project_rules(
        &self,
        project_id: ProjectId,
    ) -> Result<Arc<ProjectRules>, IngestError> {
        Ok(self.project(project_id).await?.rules)
    }

    async fn project(&self, project_id: ProjectId) -> Result<ProjectSettings, IngestError> {
        if let Some((settings, at)) = self
            .projects
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project_id)
            && at.elapsed() < KEY_TTL
        {
            return Ok(settings.clone());
        }
        let failed = |e| IngestError::internal("reading the project's settings", e);
        let written = self
            .store
            .grouping_rules(project_id)
            .await
            .map_err(failed)?;
        let quotas = self
            .store
            .project_quotas(project_id)
            .await
            .map_err(failed)?;
        let rules = Arc::new(
            ProjectRules::parse(&written.stacktrace, &written.fingerprints).unwrap_or_else(|e| {
                tracing::warn!(project_id = project_id.get(), error = %e, "ignoring the project's grouping rules");
                ProjectRules::default()
            }),
        );
        let settings = ProjectSettings { rules, quotas };
        self.projects
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project_id, (settings.clone(), Instant::now()));
        Ok(settings)
    }

    /// Whether a request for `project_id` passed [`KeyCache::authorize`] lately (its rules are
    /// cached only then), so that per-project labels come from real projects alone.
    pub fn is_authorized_project(&self, project_id: ProjectId) -> bool {
        self.projects
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&project_id)
    }

    /// Checks that `public_key` is an active key of `project_id`; returns the key.
    pub async fn authorize(
        &self,
        public_key: &str,
        project_id: ProjectId,
    ) -> Result<ProjectKey, IngestError> {
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
        Ok(key)
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
            .map_err(|e| IngestError::internal("looking up the key", e))?;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        match &found {
            Some(key) => known.insert(public_key.to_owned(), (key.clone(), Instant::now())),
            None => known.remove(public_key),
        };
        Ok(found)
    }
}
