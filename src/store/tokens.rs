//! REST API tokens: random, shown once, stored as a BLAKE2b hash with their scopes.

use blake2::{Blake2b512, Digest};
use sqlx::FromRow;

use super::sql;
use super::{Store, StoreError, now_ms};

/// A permission a token may hold. Tokens store them by Sentry's names (`event:read`…),
/// space-separated; [`Scope::name`] is that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    OrgRead,
    ProjectRead,
    ProjectWrite,
    ProjectAdmin,
    EventRead,
    EventWrite,
    EventAdmin,
}

impl Scope {
    /// Every scope, in the order the tokens page lists them.
    pub const ALL: [Scope; 7] = [
        Scope::OrgRead,
        Scope::ProjectRead,
        Scope::ProjectWrite,
        Scope::ProjectAdmin,
        Scope::EventRead,
        Scope::EventWrite,
        Scope::EventAdmin,
    ];

    /// Sentry's name, as tokens store it.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::OrgRead => "org:read",
            Scope::ProjectRead => "project:read",
            Scope::ProjectWrite => "project:write",
            Scope::ProjectAdmin => "project:admin",
            Scope::EventRead => "event:read",
            Scope::EventWrite => "event:write",
            Scope::EventAdmin => "event:admin",
        }
    }

    /// The scope named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Every scope's name (Sentry's names), in [`Scope::ALL`]'s order.
pub const SCOPES: [&str; 7] = {
    let mut names = [""; 7];
    let mut i = 0;
    while i < Scope::ALL.len() {
        names[i] = Scope::ALL[i].name();
        i += 1;
    }
    names
};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
    /// The user it acts for, if it was made for one.
    pub user_id: Option<i64>,
}

impl ApiToken {
    /// Whether the token holds exactly `scope` (what a scope implies is the API's rule).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.split(' ').any(|s| s == scope.name())
    }
}

/// The stored form of a secret token (API tokens, session tokens).
pub(super) fn hash(token: &str) -> String {
    hex::encode(Blake2b512::digest(token.as_bytes()))
}

impl Store {
    /// Creates a token; returns it (the only time it is seen) and its record.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_token(
        &self,
        name: &str,
        scopes: &[String],
        user_id: Option<i64>,
    ) -> Result<(String, ApiToken), StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "a token needs a name of 1 to 100 characters".into(),
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| Scope::from_name(s).is_none()) {
            return Err(StoreError::Invalid(format!(
                "unknown scope {bad:?}; scopes are {}",
                SCOPES.join(", ")
            )));
        }
        let scopes = if scopes.is_empty() {
            SCOPES.join(" ")
        } else {
            scopes.join(" ")
        };
        let token = format!(
            "snag_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let record = sql::query_as(
            "INSERT INTO api_tokens (name, token_hash, scopes, created_at, user_id)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id, name, scopes, created_at, last_used, user_id",
        )
        .bind(name)
        .bind(hash(&token))
        .bind(scopes)
        .bind(now_ms())
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((token, record))
    }

    /// The live token with this secret. Its `last_used` is written at most once a minute: an
    /// API call should not be a write beside the ingest writer.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_token(&self, token: &str) -> Result<Option<ApiToken>, StoreError> {
        let found: Option<ApiToken> = sql::query_as(
            "SELECT id, name, scopes, created_at, last_used, user_id FROM api_tokens
             WHERE token_hash = $1 AND revoked = 0",
        )
        .bind(hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let now = now_ms();
        if let Some(t) = &found
            && t.last_used
                .is_none_or(|at| now - at > crate::time::MINUTE_MS)
        {
            sql::query("UPDATE api_tokens SET last_used = $1 WHERE id = $2")
                .bind(now)
                .bind(t.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(found)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, name, scopes, created_at, last_used, user_id FROM api_tokens WHERE revoked = 0 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes a token; false if there was no live token with that id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        Ok(
            sql::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1 AND revoked = 0")
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_stored_by_sentrys_names() {
        assert_eq!(
            SCOPES,
            [
                "org:read",
                "project:read",
                "project:write",
                "project:admin",
                "event:read",
                "event:write",
                "event:admin"
            ]
        );
        for scope in Scope::ALL {
            assert_eq!(Scope::from_name(scope.name()), Some(scope));
        }
        assert_eq!(Scope::from_name("event:reed"), None);
        let token = ApiToken {
            id: 1,
            name: "ci".into(),
            scopes: "event:read project:write".into(),
            created_at: 0,
            last_used: None,
            user_id: None,
        };
        assert!(token.has_scope(Scope::EventRead) && token.has_scope(Scope::ProjectWrite));
        assert!(!token.has_scope(Scope::ProjectRead));
    }
}
