//! Event search over stored error events (Sentry's `/organizations/{org}/events/` for the
//! errors dataset): chosen columns of each event, or aggregates grouped by the columns.
//!
//! ```text
//! field=title&field=count()&field=last_seen()   → SELECT e.title, COUNT(*), MAX(e.timestamp) … GROUP BY e.title
//! field=id&field=timestamp&sort=-timestamp       → SELECT e.event_id, e.timestamp … ORDER BY e.timestamp DESC
//! ```
//! A search can also ask for each row's stored event (`with_event`), for fields only the
//! event's JSON holds (its exception types, its tags); the caller reads them out.

use std::ops::ControlFlow;

use serde_json::{Map, Value};

use super::issues::EventFilter;
use super::sql::Builder;
use super::{IssueId, ProjectId, Store, StoreError};

/// A column of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    Title,
    Timestamp,
    Project,
    ProjectId,
    Issue,
    IssueId,
    Level,
    Release,
    Environment,
    Platform,
    User,
    Culprit,
    EventType,
    /// The distinct-user key as stored (`id:42`).
    UserKey,
    /// The start of the event's time bucket of this many ms (unix ms).
    Bucket(i64),
}

/// An aggregate over the events of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    CountUniqueUser,
    CountUniqueIssue,
    LastSeen,
    FirstSeen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Column(Column),
    Aggregate(Aggregate),
}

/// How a field's value reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// Unix ms, answered as an ISO date.
    Date,
}

impl Field {
    fn sql(self) -> std::borrow::Cow<'static, str> {
        if let Field::Column(Column::Bucket(ms)) = self {
            let ms = ms.max(1);
            return format!("(e.timestamp / {ms}) * {ms}").into();
        }
        let sql = match self {
            Field::Column(c) => match c {
                Column::Id => "e.event_id",
                Column::Title => "e.title",
                Column::Timestamp => "e.timestamp",
                Column::Project => "p.name",
                Column::ProjectId => "e.project_id",
                Column::Issue => "upper(p.name) || '-' || i.short_id",
                Column::IssueId => "e.issue_id",
                Column::Level => "e.level",
                Column::Release => "e.release",
                Column::Environment => "e.environment",
                Column::Platform => "e.platform",
                // `id:42` → `42`: the value Sentry shows as user.display.
                Column::User => "substr(e.user_key, instr(e.user_key, ':') + 1)",
                Column::Culprit => "i.culprit",
                Column::EventType => "CASE i.type WHEN 'error' THEN 'error' ELSE 'default' END",
                Column::UserKey => "e.user_key",
                Column::Bucket(_) => unreachable!("answered above"),
            },
            Field::Aggregate(a) => match a {
                Aggregate::Count => "COUNT(*)",
                Aggregate::CountUniqueUser => "COUNT(DISTINCT e.user_key)",
                Aggregate::CountUniqueIssue => "COUNT(DISTINCT e.issue_id)",
                Aggregate::LastSeen => "MAX(e.timestamp)",
                Aggregate::FirstSeen => "MIN(e.timestamp)",
            },
        };
        sql.into()
    }

    pub fn kind(self) -> Kind {
        match self {
            Field::Column(Column::Timestamp | Column::Bucket(_))
            | Field::Aggregate(Aggregate::LastSeen | Aggregate::FirstSeen) => Kind::Date,
            Field::Column(Column::ProjectId | Column::IssueId) | Field::Aggregate(_) => {
                Kind::Integer
            }
            Field::Column(_) => Kind::Text,
        }
    }
}

/// One search: the fields (by their names as asked), which events, the order and the page.
#[derive(Debug, Clone)]
pub struct Search {
    pub fields: Vec<(String, Field)>,
    pub projects: Vec<ProjectId>,
    pub issue: Option<IssueId>,
    pub has_user: bool,
    pub filter: EventFilter,
    /// Index into `fields`, descending when true; `None`: in no particular order.
    pub sort: Option<(usize, bool)>,
    pub limit: i64,
    pub offset: i64,
    /// Read each row's stored event too (not with aggregates).
    pub with_event: bool,
}

/// Events read and decoded together after their rows were found.
const EVENTS_AT_ONCE: usize = 100;

/// A row: values by field name (text, a number, or unix ms: the caller formats dates), and
/// the stored event when the search asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundRow {
    pub values: Map<String, Value>,
    pub event: Option<Value>,
}

impl Store {
    /// The rows of a search.
    pub async fn search_events(&self, search: &Search) -> Result<Vec<FoundRow>, StoreError> {
        let mut found = Vec::new();
        self.search_events_each(search, |row| {
            found.push(row);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(found)
    }

    /// Hands each row of a search to `each`, until `each` breaks. The rows are found first
    /// without their events (no blob is held while SQLite sorts or skips); each event is then
    /// read, handed over and dropped, a few at a time.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn search_events_each(
        &self,
        search: &Search,
        mut each: impl FnMut(FoundRow) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut qb = Builder::new("SELECT ");
        for (n, (_, field)) in search.fields.iter().enumerate() {
            if n > 0 {
                qb.push(", ");
            }
            qb.push(field.sql());
        }
        if search.with_event {
            qb.push(", e.id");
        }
        qb.push(
            " FROM events e JOIN projects p ON p.id = e.project_id \
             JOIN issues i ON i.id = e.issue_id WHERE 1 = 1",
        );
        if !search.projects.is_empty() {
            qb.push(" AND e.project_id IN ");
            qb.push_list(&search.projects);
        }
        if let Some(issue) = search.issue {
            qb.push(" AND e.issue_id = ").push_bind(issue);
        }
        if search.has_user {
            qb.push(" AND e.user_key IS NOT NULL");
        }
        super::issues::push_event_filter_on(&mut qb, &search.filter, "e.", self.dialect());
        let grouped = search
            .fields
            .iter()
            .any(|(_, f)| matches!(f, Field::Aggregate(_)));
        if grouped {
            let columns: Vec<_> = search
                .fields
                .iter()
                .filter(|(_, f)| matches!(f, Field::Column(_)))
                .map(|(_, f)| f.sql())
                .collect();
            if !columns.is_empty() {
                qb.push(" GROUP BY ").push(columns.join(", "));
            }
        }
        if let Some((at, descending)) = search.sort {
            qb.push(" ORDER BY ")
                .push(search.fields[at].1.sql())
                .push(if descending { " DESC" } else { " ASC" });
            // Ties in a stable order, so that pages neither repeat nor skip a row.
            for (n, (_, field)) in search.fields.iter().enumerate() {
                if n != at && matches!(field, Field::Column(_)) {
                    qb.push(", ").push(field.sql());
                }
            }
            if !grouped {
                qb.push(", e.id");
            }
        }
        qb.push(" LIMIT ")
            .push_bind(search.limit)
            .push(" OFFSET ")
            .push_bind(search.offset);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Map::new();
            for (n, (name, field)) in search.fields.iter().enumerate() {
                let value = match field.kind() {
                    Kind::Text => row
                        .try_get::<Option<String>>(n)?
                        .map_or(Value::Null, Value::String),
                    Kind::Integer | Kind::Date => row
                        .try_get::<Option<i64>>(n)?
                        .map_or(Value::Null, Value::from),
                };
                values.insert(name.clone(), value);
            }
            let id = match search.with_event {
                true => Some(row.try_get::<i64>(search.fields.len())?),
                false => None,
            };
            found.push((values, id));
        }
        drop(rows);
        if !search.with_event {
            for (values, _) in found {
                if each(FoundRow {
                    values,
                    event: None,
                })
                .is_break()
                {
                    break;
                }
            }
            return Ok(());
        }
        for chunk in found.chunks_mut(EVENTS_AT_ONCE) {
            let ids: Vec<i64> = chunk.iter().filter_map(|(_, id)| *id).collect();
            let mut read = Builder::new("SELECT id, data FROM events WHERE id IN ");
            read.push_list(&ids);
            let mut blobs: std::collections::HashMap<i64, Vec<u8>> = read
                .build_query_as()
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect();
            for (values, id) in chunk.iter_mut() {
                // An event deleted since (retention) is left out.
                let Some(blob) = id.and_then(|id| blobs.remove(&id)) else {
                    continue;
                };
                let event = Some(self.decode(&blob).await?);
                let values = std::mem::take(values);
                if each(FoundRow { values, event }).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
