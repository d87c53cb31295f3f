//! Web sessions: a random token in the cookie, its hash here. A session ends when it is
//! signed out, when its user's password changes, after its lifetime, or after it went unused
//! for the idle timeout; whichever node serves the next request sees that.

use std::time::Duration;

use super::sql;
use super::tokens::hash;
use super::users::{User, new_password_hash};
use super::{Store, StoreError, now_ms};
use crate::time::duration_ms;

/// How long a session may last, and stay unused.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub lifetime: Duration,
    pub idle_timeout: Duration,
}

impl SessionPolicy {
    /// The policy `--session-lifetime` and `--session-idle-timeout` set.
    pub fn of(web: &crate::config::Web) -> SessionPolicy {
        SessionPolicy {
            lifetime: web.session_lifetime,
            idle_timeout: web.session_idle_timeout,
        }
    }
}

/// `last_seen_at` is written at most this often (reads stay reads).
const TOUCH_EVERY_MS: i64 = crate::time::MINUTE_MS;

impl Store {
    /// A new session for `user_id`; returns the token for the cookie (not stored).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_session(&self, user_id: i64) -> Result<String, StoreError> {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let now = now_ms();
        sql::query(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The user of a live session; an expired one is deleted and answers `None`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn session_user(
        &self,
        token: &str,
        policy: SessionPolicy,
    ) -> Result<Option<User>, StoreError> {
        let id = hash(token);
        let row: Option<(i64, String, bool, i64, i64)> = sql::query_as(
            "SELECT u.id, u.email, u.is_admin, s.created_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((user_id, email, is_admin, created_at, last_seen_at)) = row else {
            return Ok(None);
        };
        let now = now_ms();
        if now.saturating_sub(created_at) >= duration_ms(policy.lifetime)
            || now.saturating_sub(last_seen_at) >= duration_ms(policy.idle_timeout)
        {
            self.end_session(token).await?;
            return Ok(None);
        }
        if now - last_seen_at >= TOUCH_EVERY_MS {
            sql::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(User {
            id: user_id,
            email,
            is_admin,
        }))
    }

    /// Signs one session out.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM sessions WHERE id = $1")
            .bind(hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a user's password and ends every session of theirs, in one transaction; returns
    /// how many sessions ended. Unknown users are an error.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password(&self, user_id: i64, password: &str) -> Result<u64, StoreError> {
        let hash = new_password_hash(password).await?;
        let mut tx = self.pool.begin().await?;
        let changed = sql::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::Invalid(format!("no user with id {user_id}")));
        }
        let ended = sql::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(ended)
    }

    /// Deletes sessions past the lifetime or the idle timeout at `now` (run now and then).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_expired_sessions(
        &self,
        policy: SessionPolicy,
        now: i64,
    ) -> Result<u64, StoreError> {
        Ok(
            sql::query("DELETE FROM sessions WHERE created_at <= $1 OR last_seen_at <= $2")
                .bind(now.saturating_sub(duration_ms(policy.lifetime)))
                .bind(now.saturating_sub(duration_ms(policy.idle_timeout)))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
