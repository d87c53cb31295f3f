//! Leases: work that one node at a time may do, when several nodes share a database.
//!
//! ```text
//! leases(name = "periodic", holder = "3f2c…", expires_at = 1795312485000)
//! ```
//! A node takes a lease that is free or expired, and renews the one it holds, in one upsert
//! (atomic on both databases: the row is locked while the condition is checked). A node that
//! dies stops renewing; once the lease expired, the next node that asks takes it.

use super::sql;
use super::{Store, StoreError};

impl Store {
    /// Takes or renews lease `name` for `holder` until `until_ms`, unless another holder's
    /// lease is still running at `now_ms`: true when `holder` holds it now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let held: Option<String> = sql::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(held.is_some())
    }

    /// Who holds lease `name` (expired or not), if anyone.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sql::query_scalar("SELECT holder FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Gives lease `name` up when `holder` holds it (a node that stops), so another node
    /// need not wait for it to expire.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::store::Store;

    #[tokio::test]
    async fn one_holder_at_a_time_until_its_lease_expires() {
        let store = Store::open(&Config::for_tests("sqlite::memory:"))
            .await
            .unwrap();
        assert!(store.hold_lease("jobs", "a", 1_000, 31_000).await.unwrap());
        // b waits while a renews; a's renewal moves the end.
        assert!(!store.hold_lease("jobs", "b", 2_000, 32_000).await.unwrap());
        assert!(store.hold_lease("jobs", "a", 20_000, 50_000).await.unwrap());
        assert!(!store.hold_lease("jobs", "b", 40_000, 70_000).await.unwrap());
        // a stopped renewing: at its end b takes over, and a is then refused.
        assert!(store.hold_lease("jobs", "b", 50_000, 80_000).await.unwrap());
        assert!(!store.hold_lease("jobs", "a", 51_000, 81_000).await.unwrap());
        // Another lease is another row.
        assert!(
            store
                .hold_lease("other", "a", 51_000, 81_000)
                .await
                .unwrap()
        );
        // A holder that gives its lease up frees it at once.
        store.release_lease("jobs", "b").await.unwrap();
        assert!(store.hold_lease("jobs", "a", 52_000, 82_000).await.unwrap());
    }
}
