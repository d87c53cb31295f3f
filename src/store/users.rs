//! Web UI accounts (argon2id password hashes) and server secrets.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sqlx::FromRow;

use super::sql;
use super::{Store, StoreError, now_ms};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Password hashes computed at once, however many sign-ins arrive together: each argon2id
/// hash takes 19 MiB and a core for a while, so the others wait their turn.
const CONCURRENT_HASHES: usize = 2;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);

/// Runs password hashing off the async threads, at most [`CONCURRENT_HASHES`] at a time.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| StoreError::Hashing(e.into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Hashing(e.into()))
}

/// A password of acceptable length, or why not.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password may have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

impl Store {
    /// Creates an account; the email must look like one and be unused.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        let email = email.trim();
        if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(StoreError::Invalid(format!(
                "{email:?} is not an email address"
            )));
        }
        let hash = new_password_hash(password).await?;
        let result = sql::query_as(
            "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, email, is_admin",
        )
        .bind(email)
        .bind(hash)
        .bind(is_admin)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("a user with email {email} already exists"),
            )),
            other => Ok(other?),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sql::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_user(&self, id: i64) -> Result<Option<User>, StoreError> {
        Ok(
            sql::query_as("SELECT id, email, is_admin FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_user(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(
            sql::query_as("SELECT id, email, is_admin FROM users WHERE email = $1")
                .bind(email.trim())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The administrator made first (the one `snag user create` or the setup page made).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn first_admin(&self) -> Result<Option<User>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, email, is_admin FROM users WHERE is_admin ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every user, oldest first (assignees to choose from).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(
            sql::query_as("SELECT id, email, is_admin FROM users ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The user whose email and password these are. Unknown emails cost a hash as well, so
    /// that timing does not tell which emails exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(i64, String, bool, String)> =
            sql::query_as("SELECT id, email, is_admin, password_hash FROM users WHERE email = $1")
                .bind(email.trim())
                .fetch_optional(&self.pool)
                .await?;
        // Longer than any password accepted: refused without the cost of a hash.
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Ok(None);
        }
        let password = password.to_owned();
        let verified = hashing(move || match row {
            Some((id, email, is_admin, hash)) => {
                verify_password(&password, &hash).then_some(User {
                    id,
                    email,
                    is_admin,
                })
            }
            None => {
                let _ = hash_password(&password);
                None
            }
        })
        .await?;
        Ok(verified)
    }

    /// A random secret of `len` bytes created on first use and kept in the database, so that
    /// every node and every restart share it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let fresh: Vec<u8> = std::iter::repeat_with(|| *uuid::Uuid::new_v4().as_bytes())
            .flatten()
            .take(len)
            .collect();
        sql::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(fresh)
            .execute(&self.pool)
            .await?;
        Ok(
            sql::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// The hash to store for a new password, after checking its length.
pub(super) async fn new_password_hash(password: &str) -> Result<String, StoreError> {
    check_password(password)?;
    let password = password.to_owned();
    hashing(move || hash_password(&password)).await?
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hashing(e.to_string().into()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_reject() {
        let hash = super::hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse", &hash));
        assert!(!super::verify_password("wrong horse", &hash));
        assert!(!super::verify_password("correct horse", "not a hash"));
    }
}
