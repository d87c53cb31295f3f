//! `snag migrate`: copies a SQLite installation into an empty PostgreSQL database, every table
//! with its ids, so DSNs, issue numbers, links and tokens keep working.
//!
//! ```text
//! target tables (information_schema), in foreign-key order (pg_constraint)
//! BEGIN
//!   per table: DISABLE TRIGGER USER   (counters are copied as they are, not counted again)
//!              SELECT cols FROM t     (SQLite, streamed)  →  INSERT … VALUES (…), (…), …
//!              ENABLE TRIGGER USER
//!   per identity column: setval(its sequence, MAX(id))
//! COMMIT
//! ```
//! The source's pending counter rows must be folded first (the caller starts and stops a
//! writer on it, which folds what a server left). Values are read as the target column's type
//! asks: SQLite's integers become BOOLEANs where PostgreSQL has them, its binary JSON text.
//! A `tsvector` column (`log_blocks.words`) has no SQLite column: its words are made again
//! from the row's block (SQLite's FTS5 index keeps no text to copy).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::sql::{self, Arg, Builder, Pool};
use super::{Store, StoreError};

/// Tables that are not data: each database's migration log, and the nodes' leases.
const NOT_COPIED: [&str; 2] = ["_sqlx_migrations", "leases"];

/// Rows or bytes gathered before one INSERT (PostgreSQL takes at most 65,535 parameters).
const ROWS_AT_ONCE: usize = 500;
const BYTES_AT_ONCE: usize = 16 << 20;

/// What one table held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub rows: u64,
}

/// A target column: its name and PostgreSQL type (`information_schema.columns.data_type`).
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: String,
}

impl Store {
    /// Copies every table of this (SQLite) store into `target` (PostgreSQL, empty), in one
    /// transaction there: all or nothing.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<Copied>, StoreError> {
        let (Pool::Sqlite(source), Pool::Postgres(_)) = (&self.pool, &target.pool) else {
            return Err(StoreError::Unsupported(
                "snag migrate copies a SQLite database (--from sqlite://…) into a PostgreSQL \
                 one (--to postgres://…)"
                    .to_owned(),
            ));
        };
        let projects: i64 = sql::query_scalar("SELECT COUNT(*) FROM projects")
            .fetch_one(&target.pool)
            .await?;
        if projects > 0 {
            return Err(StoreError::Invalid(
                "the target database holds projects already: migrate into an empty database"
                    .to_owned(),
            ));
        }
        let tables = target_tables(&target.pool).await?;
        let mut tx = target.pool.begin().await?;
        let mut copied = Vec::new();
        for (table, columns) in &tables {
            sql::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DISABLE TRIGGER USER"
            )))
            .execute(&mut tx)
            .await?;
            let rows = copy_table(source, &mut tx, table, columns).await?;
            sql::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} ENABLE TRIGGER USER"
            )))
            .execute(&mut tx)
            .await?;
            copied.push(Copied {
                table: table.clone(),
                rows,
            });
        }
        // Rows keep their ids; the sequences continue after them.
        let identities: Vec<(String, String)> = sql::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
        )
        .fetch_all(&mut tx)
        .await?;
        for (table, column) in identities {
            sql::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                     COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
            )))
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(copied)
    }
}

/// The target's tables with their columns, each after the tables it refers to.
async fn target_tables(pool: &Pool) -> Result<Vec<(String, Vec<Column>)>, StoreError> {
    let columns: Vec<(String, String, String)> = sql::query_as(
        "SELECT table_name::text, column_name::text, data_type::text
         FROM information_schema.columns WHERE table_schema = current_schema()
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await?;
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for (table, name, kind) in columns {
        if !NOT_COPIED.contains(&table.as_str()) {
            tables.entry(table).or_default().push(Column { name, kind });
        }
    }
    let references: Vec<(String, String)> = sql::query_as(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
         WHERE contype = 'f' AND conrelid <> confrelid",
    )
    .fetch_all(pool)
    .await?;
    let order = foreign_key_order(tables.keys().cloned().collect(), &references);
    Ok(order
        .into_iter()
        .filter_map(|t| tables.remove_entry(&t))
        .collect())
}

/// `tables` ordered so that each comes after every table it refers to (`references`: table,
/// referred table); ties by name.
fn foreign_key_order(tables: BTreeSet<String>, references: &[(String, String)]) -> Vec<String> {
    let mut left = tables;
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                !references
                    .iter()
                    .any(|(from, to)| from == *t && left.contains(to))
            })
            .cloned()
            .collect();
        // A cycle would leave nothing ready: take the rest as they come (PostgreSQL then
        // names the key that fails).
        let ready = if ready.is_empty() {
            left.iter().cloned().collect()
        } else {
            ready
        };
        for t in ready {
            left.remove(&t);
            order.push(t);
        }
    }
    order
}

/// Streams `table` out of SQLite and into the transaction, a few hundred rows per INSERT.
async fn copy_table(
    source: &sqlx::SqlitePool,
    tx: &mut sql::Tx,
    table: &str,
    columns: &[Column],
) -> Result<u64, StoreError> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| match c.kind.as_str() {
            // SQLite keeps binary JSON: as text it reads as PostgreSQL's jsonb.
            "jsonb" => format!("json({0}) AS {0}", c.name),
            // Made from the block's data by `read_row`.
            "tsvector" => format!("NULL AS {}", c.name),
            _ => c.name.clone(),
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let query = format!("SELECT {} FROM {table}", select.join(", "));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(query)).fetch(source);
    let mut pending: Vec<Vec<Arg>> = Vec::new();
    let mut bytes = 0;
    let mut copied = 0;
    while let Some(row) = rows.try_next().await? {
        let values = read_row(&row, columns)?;
        bytes += values.iter().map(arg_size).sum::<usize>();
        pending.push(values);
        if pending.len() >= ROWS_AT_ONCE || bytes >= BYTES_AT_ONCE {
            copied += insert(tx, table, &names, columns, std::mem::take(&mut pending)).await?;
            bytes = 0;
        }
    }
    if !pending.is_empty() {
        copied += insert(tx, table, &names, columns, pending).await?;
    }
    Ok(copied)
}

/// A SQLite row's values as the target columns' types.
fn read_row(row: &SqliteRow, columns: &[Column]) -> Result<Vec<Arg>, StoreError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column.kind.as_str() {
                "bigint" | "integer" | "smallint" => Arg::Int(row.try_get(i)?),
                "boolean" => Arg::Bool(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
                "double precision" | "real" => Arg::Float(row.try_get(i)?),
                "bytea" => Arg::Bytes(row.try_get(i)?),
                "text" | "jsonb" => Arg::Text(row.try_get(i)?),
                "tsvector" => Arg::Text(Some(block_words(row, columns)?)),
                other => {
                    return Err(StoreError::Unsupported(format!(
                        "cannot copy column {} of type {other}",
                        column.name
                    )));
                }
            })
        })
        .collect()
}

/// The index words of a `log_blocks` row, from its `id` and `data`.
fn block_words(row: &SqliteRow, columns: &[Column]) -> Result<String, StoreError> {
    let at = |name: &str| {
        columns.iter().position(|c| c.name == name).ok_or_else(|| {
            StoreError::Unsupported(format!("a tsvector column beside no {name} column"))
        })
    };
    let id: i64 = row.try_get(at("id")?)?;
    let data: Vec<u8> = row.try_get(at("data")?)?;
    crate::logs::block::words_of(id, &data).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn arg_size(arg: &Arg) -> usize {
    match arg {
        Arg::Text(Some(t)) => t.len(),
        Arg::Bytes(Some(b)) => b.len(),
        _ => 8,
    }
}

/// One multi-row INSERT of `rows` into `table`.
async fn insert(
    tx: &mut sql::Tx,
    table: &str,
    names: &[&str],
    columns: &[Column],
    rows: Vec<Vec<Arg>>,
) -> Result<u64, StoreError> {
    let mut insert = Builder::new(format!(
        "INSERT INTO {table} ({}) VALUES ",
        names.join(", ")
    ));
    for (n, row) in rows.into_iter().enumerate() {
        insert.push(if n == 0 { "(" } else { ", (" });
        for (i, (value, column)) in row.into_iter().zip(columns).enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            match column.kind.as_str() {
                "tsvector" => {
                    insert.push("array_to_tsvector(string_to_array(");
                    insert.push_bind(value);
                    insert.push(", ' '))");
                }
                kind => {
                    insert.push_bind(value);
                    if kind == "jsonb" {
                        insert.push("::jsonb");
                    }
                }
            }
        }
        insert.push(")");
    }
    Ok(insert.build().execute(tx).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_after_the_tables_they_refer_to() {
        let tables = ["events", "issues", "projects", "users", "outcomes"]
            .map(String::from)
            .into();
        let refs = [
            ("events", "issues"),
            ("events", "projects"),
            ("issues", "projects"),
            ("issues", "users"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(
            foreign_key_order(tables, &refs),
            ["outcomes", "projects", "users", "issues", "events"]
        );
    }
}
