//! One query API over both databases (ADR 0002): every query is written once, in the SQL that
//! SQLite and PostgreSQL both run, with `$1…$N` placeholders (sqlx-sqlite binds them by number
//! too), and runs on whichever [`Pool`] the store opened.
//!
//! ```text
//! query_as::<Project>("SELECT id, name, created_at FROM projects WHERE id = $1")
//!     .bind(id)                      // an Arg: typed, owned, NULL-able
//!     .fetch_optional(&self.pool)    // or `&mut tx` inside a transaction
//! ```
//!
//! Values are bound as [`Arg`]s (a closed set of column types), so a query is plain data until
//! it runs: the same value binds on either driver, and query builders ([`Builder`]) need no
//! database type parameter. Rows decode through `FromRow`, which is generic over the row type;
//! a row type used here must decode from both drivers' rows.

use std::fmt::Display;
use std::marker::PhantomData;

use sqlx::postgres::{PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{Decode, FromRow, Row, SqlSafeStr, SqlStr, Transaction, Type};

use super::alerts::Delivery;
use super::issue_state::{Level, Status, Substatus};
use super::{IssueId, ProjectId};

/// The connections of the database the store opened.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which SQL a query may rely on beyond the shared subset (see [`Dialect`]'s fragments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already ignores ASCII case).
    pub fn ilike(self) -> &'static str {
        match self {
            Dialect::Sqlite => " LIKE ",
            Dialect::Postgres => " ILIKE ",
        }
    }

    /// The `[key, value]` pairs of a pending tag row's JSON array `column`, as a table `alias`
    /// whose `value` column is each pair (`alias.value->>0` is the key).
    pub fn pending_tag_pairs(self, column: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("jsonb_each({column}) {alias}"),
            Dialect::Postgres => format!("jsonb_array_elements({column}) AS {alias}(value)"),
        }
    }
}

impl Pool {
    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A transaction that holds the right to write `key`'s rows until it ends, so that a count
    /// and the insert it decides stay atomic: SQLite takes its single write lock at BEGIN,
    /// PostgreSQL a transaction-scoped advisory lock on `key` (held across nodes).
    pub async fn begin_exclusive(&self, key: i64) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A transaction on either database; dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// Where a query runs: on the pool, or inside a transaction.
pub enum On<'a> {
    Pool(&'a Pool),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Pool> for On<'a> {
    fn from(pool: &'a Pool) -> Self {
        On::Pool(pool)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        On::Tx(tx)
    }
}

/// A bound value: one of the column types the schema uses, owned, and typed even when NULL
/// (PostgreSQL needs a parameter's type).
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($variant:ident: $($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(
            impl From<$t> for Arg {
                fn from($v: $t) -> Arg {
                    Arg::$variant($e)
                }
            }
        )*
    };
}

arg_from!(Int:
    i64 => |v| Some(v),
    &i64 => |v| Some(*v),
    Option<i64> => |v| v,
    i32 => |v| Some(v.into()),
    u32 => |v| Some(v.into()),
    usize => |v| Some(i64::try_from(v).unwrap_or(i64::MAX)),
    u64 => |v| Some(i64::try_from(v).unwrap_or(i64::MAX)),
);
arg_from!(Float: f64 => |v| Some(v), Option<f64> => |v| v);
arg_from!(Bool: bool => |v| Some(v), Option<bool> => |v| v);
arg_from!(Text:
    String => |v| Some(v),
    &String => |v| Some(v.clone()),
    &str => |v| Some(v.to_owned()),
    &&str => |v| Some((*v).to_owned()),
    Option<String> => |v| v,
    Option<&String> => |v| v.cloned(),
    Option<&str> => |v| v.map(str::to_owned),
    &Option<String> => |v| v.clone(),
);
arg_from!(Int:
    ProjectId => |v| Some(v.get()),
    &ProjectId => |v| Some(v.get()),
    Option<ProjectId> => |v| v.map(ProjectId::get),
    IssueId => |v| Some(v.get()),
    &IssueId => |v| Some(v.get()),
    Option<IssueId> => |v| v.map(IssueId::get),
);
arg_from!(Text:
    std::borrow::Cow<'_, str> => |v| Some(v.into_owned()),
    Status => |v| Some(v.as_str().to_owned()),
    Substatus => |v| Some(v.as_str().to_owned()),
    Level => |v| Some(v.as_str().to_owned()),
    Delivery => |v| Some(v.as_str().to_owned()),
);
arg_from!(Bytes:
    Vec<u8> => |v| Some(v),
    &Vec<u8> => |v| Some(v.clone()),
    &[u8] => |v| Some(v.to_vec()),
    Option<Vec<u8>> => |v| v,
    Option<&[u8]> => |v| v.map(<[u8]>::to_vec),
);

/// A query and its values; `K` says what it returns ([`Plain`] rows, [`As`] typed rows,
/// [`Scalar`] first columns).
#[must_use = "a query does nothing until it is fetched or executed"]
pub struct Query<K> {
    sql: SqlStr,
    args: Vec<Arg>,
    kind: PhantomData<K>,
}

pub struct Plain;
pub struct As<O>(PhantomData<O>);
pub struct Scalar<O>(PhantomData<O>);

pub fn query(sql: impl SqlSafeStr) -> Query<Plain> {
    Query::new(sql.into_sql_str(), Vec::new())
}

pub fn query_as<O>(sql: impl SqlSafeStr) -> Query<As<O>> {
    Query::new(sql.into_sql_str(), Vec::new())
}

pub fn query_scalar<O>(sql: impl SqlSafeStr) -> Query<Scalar<O>> {
    Query::new(sql.into_sql_str(), Vec::new())
}

impl<K> Query<K> {
    fn new(sql: SqlStr, args: Vec<Arg>) -> Self {
        Query {
            sql,
            args,
            kind: PhantomData,
        }
    }

    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Float(v) => query.bind(v),
                Arg::Bool(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}

/// Builds the driver's query from ours (`$q` is `sqlx::query`, `query_as` or `query_scalar`
/// for that driver) and runs `$run` on it with the executor of `$on`.
macro_rules! run {
    ($self:ident, $on:expr, $q:ident [$($out:tt)*], |$query:ident, $exec:ident| $run:expr) => {{
        let Query { sql, args, .. } = $self;
        match $on.into() {
            On::Pool(Pool::Sqlite($exec)) => {
                let $query = bind_all!(sqlx::$q::<Sqlite, $($out)*>(sql), args);
                $run
            }
            On::Pool(Pool::Postgres($exec)) => {
                let $query = bind_all!(sqlx::$q::<Postgres, $($out)*>(sql), args);
                $run
            }
            On::Tx(Tx::Sqlite(tx)) => {
                let $exec = &mut **tx;
                let $query = bind_all!(sqlx::$q::<Sqlite, $($out)*>(sql), args);
                $run
            }
            On::Tx(Tx::Postgres(tx)) => {
                let $exec = &mut **tx;
                let $query = bind_all!(sqlx::$q::<Postgres, $($out)*>(sql), args);
                $run
            }
        }
    }};
}

/// How many rows a statement changed.
#[derive(Clone, Copy, Debug)]
pub struct Done(u64);

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// A row of a query built at run time, read by column position.
pub enum DbRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl DbRow {
    pub fn try_get<T>(&self, index: usize) -> Result<T, sqlx::Error>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        match self {
            DbRow::Sqlite(row) => row.try_get(index),
            DbRow::Postgres(row) => row.try_get(index),
        }
    }
}

/// A row type both drivers decode.
pub trait FromBothRows:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> FromBothRows for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A column value both drivers decode.
pub trait DecodeBoth:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> DecodeBoth for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

impl Query<Plain> {
    pub async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<Done, sqlx::Error> {
        run!(self, on, query[], |q, exec| Ok(Done(q.execute(exec).await?.rows_affected())))
    }

    pub async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<DbRow>, sqlx::Error> {
        run!(self, on, query[], |q, exec| q
            .fetch_all(exec)
            .await
            .map(|rows| rows.into_iter().map(DbRow::from).collect()))
    }
}

impl From<SqliteRow> for DbRow {
    fn from(row: SqliteRow) -> Self {
        DbRow::Sqlite(row)
    }
}

impl From<PgRow> for DbRow {
    fn from(row: PgRow) -> Self {
        DbRow::Postgres(row)
    }
}

impl<O: FromBothRows> Query<As<O>> {
    pub async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<O>, sqlx::Error> {
        run!(self, on, query_as[O], |q, exec| q.fetch_all(exec).await)
    }

    pub async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<O, sqlx::Error> {
        run!(self, on, query_as[O], |q, exec| q.fetch_one(exec).await)
    }

    pub async fn fetch_optional<'a>(self, on: impl Into<On<'a>>) -> Result<Option<O>, sqlx::Error> {
        run!(self, on, query_as[O], |q, exec| q
            .fetch_optional(exec)
            .await)
    }
}

impl<O: DecodeBoth> Query<Scalar<O>> {
    pub async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<O>, sqlx::Error> {
        run!(self, on, query_scalar[O], |q, exec| q.fetch_all(exec).await)
    }

    pub async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<O, sqlx::Error> {
        run!(self, on, query_scalar[O], |q, exec| q.fetch_one(exec).await)
    }

    pub async fn fetch_optional<'a>(self, on: impl Into<On<'a>>) -> Result<Option<O>, sqlx::Error> {
        run!(self, on, query_scalar[O], |q, exec| q
            .fetch_optional(exec)
            .await)
    }
}

/// A query assembled at run time: text pushed in pieces, each value bound as the next `$N`.
#[derive(Debug, Default)]
pub struct Builder {
    sql: String,
    args: Vec<Arg>,
}

impl Builder {
    pub fn new(sql: impl Display) -> Self {
        Builder {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{sql}");
        self
    }

    pub fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        let n = self.args.len();
        self.push(format_args!("${n}"))
    }

    /// `(v1, v2, …)`, each bound; `(NULL)` for none, which matches nothing.
    pub fn push_list<T: Into<Arg> + Clone>(&mut self, values: &[T]) -> &mut Self {
        if values.is_empty() {
            return self.push("(NULL)");
        }
        self.push("(");
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                self.push(", ");
            }
            self.push_bind(value.clone());
        }
        self.push(")")
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn build(self) -> Query<Plain> {
        Query::new(sqlx::AssertSqlSafe(self.sql).into_sql_str(), self.args)
    }

    pub fn build_query_as<O>(self) -> Query<As<O>> {
        Query::new(sqlx::AssertSqlSafe(self.sql).into_sql_str(), self.args)
    }

    pub fn build_query_scalar<O>(self) -> Query<Scalar<O>> {
        Query::new(sqlx::AssertSqlSafe(self.sql).into_sql_str(), self.args)
    }
}

/// `%word%` for `LIKE … ESCAPE '\'`, the word's own wildcards escaped.
pub fn like_pattern(word: &str) -> String {
    format!(
        "%{}%",
        word.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_numbers_its_values_in_order() {
        let mut b = Builder::new("SELECT id FROM issues WHERE project_id IN ");
        b.push_list(&[1i64, 2]).push(" AND title = ").push_bind("x");
        assert_eq!(
            b.sql(),
            "SELECT id FROM issues WHERE project_id IN ($1, $2) AND title = $3"
        );
        let empty: [i64; 0] = [];
        let mut none = Builder::new("x IN ");
        none.push_list(&empty);
        assert_eq!(none.sql(), "x IN (NULL)");
    }
}
