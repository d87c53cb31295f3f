//! Reads and status changes of issues for people (the web UI): filtered, sorted pages of
//! issues, their event counts over time, tag distributions, and an issue's events in order.

use std::collections::HashMap;

use super::activity;
use super::events::{
    Attachment, EVENT_COLUMNS, ISSUE_COLUMNS, StoredEvent, StoredIssue, UserReport,
};
use super::issue_state::Status;
use super::sql::{self, Builder, Dialect, like_pattern};
use super::users::User;
use super::{IssueId, ProjectId, Store, StoreError};

/// Which issues to list (every field narrows the list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueFilter {
    /// Empty: every project.
    pub projects: Vec<ProjectId>,
    /// `None`: any.
    pub status: Option<Status>,
    pub level: Option<String>,
    /// Issues with an event carrying this tag value (`release:`, `environment:`, `browser.name:`…).
    pub tags: Vec<(String, String)>,
    /// Issues with an event in one of these environments (the `environment` parameters).
    pub environments: Vec<String>,
    /// `has:user`: issues seen by at least one user.
    pub has_user: bool,
    /// Words that must all appear in the title or the culprit (case-insensitive).
    pub text: Vec<String>,
    /// `is:assigned`, `is:unassigned`, `assigned:me`, `assigned:EMAIL`.
    pub assignee: Option<AssigneeFilter>,
    /// `first-release:VERSION`: issues first seen in that release.
    pub first_release: Option<String>,
    /// Issues with an event of this trace (32 hex digits).
    pub trace_id: Option<String>,
    /// Issues seen within `[start, end)` unix ms: first seen before its end, last seen after
    /// its start (an issue quiet through the whole range but seen on both sides of it counts).
    pub seen_between: Option<(i64, i64)>,
}

/// Whose issues a list holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Anybody,
    /// The person asking: the caller puts their email in its place
    /// ([`IssueFilter::with_me`]); left as it is, it matches nothing.
    Me,
    Email(String),
}

impl IssueFilter {
    /// `assigned:me` made concrete for the person asking (`None`: a token that acts for no
    /// user, which cannot say `me`).
    pub fn with_me(mut self, me: Option<&str>) -> Result<IssueFilter, String> {
        if self.assignee == Some(AssigneeFilter::Me) {
            let email = me.ok_or("assigned:me needs a token that acts for a user")?;
            self.assignee = Some(AssigneeFilter::Email(email.to_owned()));
        }
        Ok(self)
    }
}

/// Which events of a project or an issue a page holds (`None` and empty: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Any of these environments.
    pub environments: Vec<String>,
    pub release: Option<String>,
    pub level: Option<String>,
    /// Event time within `[start, end)` unix ms.
    pub between: Option<(i64, i64)>,
    /// Words that must all appear in the title (case-insensitive).
    pub text: Vec<String>,
}

impl EventFilter {
    /// Narrows to one environment (a search's `environment:` beside the `environment`
    /// parameters): an error when it is not among those already asked for.
    pub fn only_environment(&mut self, environment: String) -> Result<(), String> {
        if !self.environments.is_empty() && !self.environments.contains(&environment) {
            return Err(format!(
                "environment:{environment} is not among the environments asked for"
            ));
        }
        self.environments = vec![environment];
        Ok(())
    }
}

/// Issue list orders, each descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssueSort {
    #[default]
    LastSeen,
    FirstSeen,
    Events,
    Users,
    /// Events since a given minute (the last 24 hours).
    Trend,
}

/// New status of an issue set by a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueStatus {
    Unresolved,
    Resolved,
    /// Resolved in this release (or, "in the next release", after the newest one): only an
    /// event of a later release regresses it.
    ResolvedInRelease(String),
    Ignored,
    /// Ignored until it spikes (then unresolved again, escalating).
    IgnoredUntilEscalating,
    /// Ignored until then (unix ms; then unresolved again, ongoing).
    IgnoredUntil(i64),
}

impl IssueStatus {
    /// A form's action: `resolve`, `ignored_until_escalating`, `ignored_for_60` (minutes from
    /// `now_ms`)…
    pub fn parse(s: &str, now_ms: i64) -> Option<IssueStatus> {
        match s {
            "unresolved" | "unresolve" => Some(IssueStatus::Unresolved),
            "resolved" | "resolve" => Some(IssueStatus::Resolved),
            "ignored" | "ignore" => Some(IssueStatus::Ignored),
            "ignored_until_escalating" => Some(IssueStatus::IgnoredUntilEscalating),
            _ => {
                let minutes: i64 = s.strip_prefix("ignored_for_")?.parse().ok()?;
                (1..=525_600)
                    .contains(&minutes)
                    .then(|| IssueStatus::IgnoredUntil(now_ms + minutes * crate::time::MINUTE_MS))
            }
        }
    }

    /// `(status, substatus)` as stored (Sentry's API strings).
    pub(super) fn columns(&self) -> (&'static str, &'static str) {
        match self {
            IssueStatus::Unresolved => ("unresolved", "ongoing"),
            IssueStatus::Resolved | IssueStatus::ResolvedInRelease(_) => ("resolved", ""),
            IssueStatus::Ignored => ("ignored", "archived_forever"),
            IssueStatus::IgnoredUntilEscalating => ("ignored", "archived_until_escalating"),
            IssueStatus::IgnoredUntil(_) => ("ignored", "archived_until_condition_met"),
        }
    }

    fn ignored_until(&self) -> Option<i64> {
        match self {
            IssueStatus::IgnoredUntil(until_ms) => Some(*until_ms),
            _ => None,
        }
    }

    fn resolved_in_release(&self) -> Option<&str> {
        match self {
            IssueStatus::ResolvedInRelease(version) => Some(version),
            _ => None,
        }
    }
}

fn push_filter(qb: &mut Builder, filter: &IssueFilter, dialect: Dialect) {
    qb.push(" WHERE 1 = 1");
    if !filter.projects.is_empty() {
        qb.push(" AND project_id IN ");
        qb.push_list(&filter.projects);
    }
    if let Some(status) = &filter.status {
        qb.push(" AND status = ").push_bind(*status);
    }
    if let Some(level) = &filter.level {
        qb.push(" AND level = ").push_bind(level.clone());
    }
    if filter.has_user {
        qb.push(" AND users_seen > 0");
    }
    // Tag counts are `issue_tags` plus the rows the writer has not folded in yet.
    for (key, value) in &filter.tags {
        push_tag_condition(qb, key, std::slice::from_ref(value), dialect);
    }
    if !filter.environments.is_empty() {
        push_tag_condition(qb, "environment", &filter.environments, dialect);
    }
    for word in &filter.text {
        let pattern = like_pattern(word);
        qb.push(" AND (title")
            .push(dialect.ilike())
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR culprit")
            .push(dialect.ilike())
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    match &filter.assignee {
        None => {}
        Some(AssigneeFilter::Nobody) => {
            qb.push(" AND assignee_id IS NULL");
        }
        Some(AssigneeFilter::Anybody) => {
            qb.push(" AND assignee_id IS NOT NULL");
        }
        Some(AssigneeFilter::Me) => {
            qb.push(" AND 0 = 1");
        }
        Some(AssigneeFilter::Email(email)) => {
            qb.push(" AND assignee_id = (SELECT id FROM users WHERE email = ")
                .push_bind(email.clone())
                .push(")");
        }
    }
    if let Some(version) = &filter.first_release {
        qb.push(" AND first_release = ").push_bind(version.clone());
    }
    if let Some(trace_id) = &filter.trace_id {
        qb.push(" AND id IN (SELECT issue_id FROM events WHERE trace_id = ")
            .push_bind(trace_id.clone())
            .push(")");
    }
    if let Some((start, end)) = filter.seen_between {
        qb.push(" AND last_seen >= ")
            .push_bind(start)
            .push(" AND first_seen < ")
            .push_bind(end);
    }
}

/// `(?, ?, …)` bound to `values` (never empty: callers return early on no ids).
/// ` AND` the issue has an event whose tag `key` is one of `values`.
fn push_tag_condition(qb: &mut Builder, key: &str, values: &[String], dialect: Dialect) {
    let push_values = |qb: &mut Builder| {
        qb.push(" IN ").push_list(values);
    };
    qb.push(" AND (EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = issues.id AND t.key = ")
        .push_bind(key.to_owned())
        .push(" AND t.value");
    push_values(qb);
    qb.push(") OR issues.id IN (SELECT p.issue_id FROM issue_tags_pending p, ")
        .push(dialect.pending_tag_pairs("p.tags", "t"))
        .push(" WHERE t.value->>0 = ")
        .push_bind(key.to_owned())
        .push(" AND t.value->>1");
    push_values(qb);
    qb.push("))");
}

/// `filter`'s conditions on the events table, its columns named with `table` (`""`, `"e."`).
pub(super) fn push_event_filter_on(
    qb: &mut Builder,
    filter: &EventFilter,
    table: &str,
    dialect: Dialect,
) {
    if !filter.environments.is_empty() {
        qb.push(format!(" AND {table}environment IN "))
            .push_list(&filter.environments);
    }
    for (column, value) in [("release", &filter.release), ("level", &filter.level)] {
        if let Some(value) = value {
            qb.push(format!(" AND {table}{column} = "))
                .push_bind(value.clone());
        }
    }
    if let Some((start, end)) = filter.between {
        qb.push(format!(" AND {table}timestamp >= "))
            .push_bind(start)
            .push(format!(" AND {table}timestamp < "))
            .push_bind(end);
    }
    for word in &filter.text {
        qb.push(format!(" AND {table}title{}", dialect.ilike()))
            .push_bind(like_pattern(word))
            .push(" ESCAPE '\\'");
    }
}

/// An event's neighbours in its issue (by time, then arrival): their event ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Neighbours {
    pub older: Option<String>,
    pub newer: Option<String>,
}

impl Store {
    /// One page of issues and how many match in all.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_issues(
        &self,
        filter: &IssueFilter,
        sort: IssueSort,
        since_minute: i64,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StoredIssue>, i64), StoreError> {
        let mut count = Builder::new("SELECT COUNT(*) FROM issues");
        push_filter(&mut count, filter, self.dialect());
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut qb = Builder::new(format!("SELECT {ISSUE_COLUMNS} FROM issues"));
        push_filter(&mut qb, filter, self.dialect());
        match sort {
            IssueSort::LastSeen => qb.push(" ORDER BY last_seen DESC, id DESC"),
            IssueSort::FirstSeen => qb.push(" ORDER BY first_seen DESC, id DESC"),
            IssueSort::Events => qb.push(" ORDER BY times_seen DESC, id DESC"),
            IssueSort::Users => qb.push(" ORDER BY users_seen DESC, last_seen DESC, id DESC"),
            // Events since `since_minute`, counted only when they decide the order.
            IssueSort::Trend => qb
                .push(
                    " ORDER BY (SELECT COALESCE(SUM(m.count), 0) FROM issue_minutes m
                     WHERE m.issue_id = issues.id AND m.minute >= ",
                )
                .push_bind(since_minute)
                .push(") DESC, last_seen DESC, id DESC"),
        };
        qb.push(" LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let issues: Vec<StoredIssue> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok((issues, total))
    }

    /// Events per bucket of `bucket_minutes`, `buckets` of them ending with the one holding
    /// `now_minute`, for each issue (oldest bucket first).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_counts(
        &self,
        issue_ids: &[IssueId],
        now_minute: i64,
        bucket_minutes: i64,
        buckets: i64,
    ) -> Result<HashMap<IssueId, Vec<i64>>, StoreError> {
        let mut out: HashMap<IssueId, Vec<i64>> = issue_ids
            .iter()
            .map(|id| (*id, vec![0; buckets as usize]))
            .collect();
        if issue_ids.is_empty() || buckets <= 0 || bucket_minutes <= 0 {
            return Ok(out);
        }
        // Buckets end at the current minute: the last one holds it.
        let first_minute = now_minute - bucket_minutes * buckets + 1;
        // Minutes, and the hours they were rolled up into (an hour counts at its first minute).
        let mut qb = Builder::new("SELECT issue_id, (minute - ");
        qb.push_bind(first_minute)
            .push(") / ")
            .push_bind(bucket_minutes)
            .push(" AS bucket, CAST(SUM(count) AS BIGINT) FROM (SELECT issue_id, minute, count FROM issue_minutes")
            .push(" UNION ALL SELECT issue_id, hour * 60, count FROM issue_hours")
            .push(" WHERE hour >= ")
            .push_bind(first_minute.div_euclid(60))
            .push(") AS counts WHERE minute >= ")
            .push_bind(first_minute)
            .push(" AND minute <= ")
            .push_bind(now_minute)
            .push(" AND issue_id IN ");
        qb.push_list(issue_ids);
        qb.push(" GROUP BY 1, 2");
        let rows: Vec<(IssueId, i64, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        for (issue, bucket, n) in rows {
            if let Some(slot) = out
                .get_mut(&issue)
                .and_then(|counts| counts.get_mut(bucket as usize))
            {
                *slot += n;
            }
        }
        Ok(out)
    }

    /// Rolls minute buckets before `before_minute` up into hours, in one transaction (the
    /// writer only ever adds to the current minutes).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn roll_up_minutes(&self, before_minute: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sql::query(
            "INSERT INTO issue_hours (issue_id, hour, count)
             SELECT issue_id, minute / 60, SUM(count) FROM issue_minutes WHERE minute < $1
             GROUP BY 1, 2 ORDER BY 1, 2
             ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hours.count + excluded.count",
        )
        .bind(before_minute)
        .execute(&mut tx)
        .await?;
        let moved = sql::query("DELETE FROM issue_minutes WHERE minute < $1")
            .bind(before_minute)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(moved)
    }

    /// (project id, events) received during `minute`, for every project with events.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_per_project(
        &self,
        minute: i64,
    ) -> Result<Vec<(ProjectId, i64)>, StoreError> {
        Ok(sql::query_as(
            "SELECT i.project_id, CAST(SUM(m.count) AS BIGINT) FROM issue_minutes m
             JOIN issues i ON i.id = m.issue_id WHERE m.minute = $1 GROUP BY 1 ORDER BY 1",
        )
        .bind(minute)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A project's events per minute over the `minutes` up to `now_minute` (oldest first).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn project_minutes(
        &self,
        project_id: ProjectId,
        now_minute: i64,
        minutes: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let first = now_minute - minutes + 1;
        let rows: Vec<(i64, i64)> = sql::query_as(
            "SELECT m.minute, CAST(SUM(m.count) AS BIGINT) FROM issue_minutes m
             JOIN issues i ON i.id = m.issue_id
             WHERE m.minute >= $1 AND m.minute <= $2 AND i.project_id = $3 GROUP BY m.minute",
        )
        .bind(first)
        .bind(now_minute)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = vec![0; minutes.max(0) as usize];
        for (minute, n) in rows {
            if let Some(slot) = counts.get_mut((minute - first) as usize) {
                *slot = n;
            }
        }
        Ok(counts)
    }

    /// Sets the status of these issues (of any project the caller may see) as `actor` asked,
    /// recording it in their activity; returns how many changed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_issue_status(
        &self,
        issue_ids: &[IssueId],
        status: IssueStatus,
        actor: Option<i64>,
    ) -> Result<u64, StoreError> {
        if issue_ids.is_empty() {
            return Ok(0);
        }
        let until = status.ignored_until();
        let release = status.resolved_in_release().map(str::to_owned);
        let (status_column, substatus) = status.columns();
        let mut qb = Builder::new("UPDATE issues SET status = ");
        qb.push_bind(status_column)
            .push(", substatus = ")
            .push_bind(substatus)
            .push(", ignored_until = ")
            .push_bind(until)
            .push(", resolved_in_release = ")
            .push_bind(release.clone())
            .push(" WHERE NOT (status = ")
            .push_bind(status_column)
            .push(" AND substatus = ")
            .push_bind(substatus)
            .push(" AND ignored_until IS NOT DISTINCT FROM ")
            .push_bind(until)
            .push(" AND resolved_in_release IS NOT DISTINCT FROM ")
            .push_bind(release)
            .push(") AND id IN ");
        qb.push_list(issue_ids);
        qb.push(" RETURNING id");
        let mut tx = self.pool.begin().await?;
        let changed: Vec<IssueId> = qb.build_query_scalar().fetch_all(&mut tx).await?;
        activity::record(&mut tx, &changed, activity::of_status(&status), actor).await?;
        tx.commit().await?;
        Ok(changed.len() as u64)
    }

    /// Assigns issues to a user, or to nobody, as `actor` asked; how many changed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn assign_issues(
        &self,
        issue_ids: &[IssueId],
        assignee: Option<&User>,
        actor: Option<i64>,
    ) -> Result<u64, StoreError> {
        if issue_ids.is_empty() {
            return Ok(0);
        }
        let assignee_id = assignee.map(|u| u.id);
        let mut qb = Builder::new("UPDATE issues SET assignee_id = ");
        qb.push_bind(assignee_id)
            .push(" WHERE assignee_id IS DISTINCT FROM ")
            .push_bind(assignee_id)
            .push(" AND id IN ");
        qb.push_list(issue_ids);
        qb.push(" RETURNING id");
        let mut tx = self.pool.begin().await?;
        let changed: Vec<IssueId> = qb.build_query_scalar().fetch_all(&mut tx).await?;
        activity::record(&mut tx, &changed, activity::of_assignment(assignee), actor).await?;
        tx.commit().await?;
        Ok(changed.len() as u64)
    }

    /// Issues ignored for a while whose time is up come back: unresolved, ongoing (Sentry's
    /// expired snoozes). How many came back.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_expired_ignores(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sql::query(
            "UPDATE issues SET status = 'unresolved', substatus = 'ongoing', ignored_until = NULL
             WHERE ignored_until IS NOT NULL AND ignored_until <= $1",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// An issue's event: this one, or the latest.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_event(
        &self,
        issue_id: IssueId,
        event_id: Option<&str>,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let sql = match event_id {
            Some(_) => {
                format!("SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 AND event_id = $2")
            }
            None => format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 AND $2 IS NULL
                 ORDER BY timestamp DESC, id DESC LIMIT 1"
            ),
        };
        let event = sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        self.readable(event).await
    }

    /// The issue a number (`42`) or a short id (`SHOP-12`, the project's name in any case)
    /// names, as Sentry's URLs and clients name issues.
    pub async fn find_issue(&self, id: &str) -> Result<Option<StoredIssue>, StoreError> {
        if let Ok(id) = id.parse::<IssueId>() {
            return self.get_issue(id).await;
        }
        let Some((slug, number)) = id.rsplit_once('-') else {
            return Ok(None);
        };
        let Ok(number) = number.parse::<i64>() else {
            return Ok(None);
        };
        match self.find_project_nocase(slug).await? {
            Some(project) => self.issue_by_short_id(project.id, number).await,
            None => Ok(None),
        }
    }

    /// The issue `short_id` of a project (`SHOP-12` is project `shop`, short id 12).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_by_short_id(
        &self,
        project_id: ProjectId,
        short_id: i64,
    ) -> Result<Option<StoredIssue>, StoreError> {
        let sql =
            format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE project_id = $1 AND short_id = $2");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(short_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// An issue's first (`oldest`) or last event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_edge_event(
        &self,
        issue_id: IssueId,
        oldest: bool,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let order = if oldest { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1
             ORDER BY timestamp {order}, id {order} LIMIT 1"
        );
        let event = sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .fetch_optional(&self.pool)
            .await?;
        self.readable(event).await
    }

    /// A page of an issue's events (`issue_id`) or a project's (`project_id`) that `filter`
    /// keeps, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_page(
        &self,
        project_id: Option<ProjectId>,
        issue_id: Option<IssueId>,
        filter: &EventFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (column, id) = match (issue_id, project_id) {
            (Some(issue), _) => ("issue_id", issue.get()),
            (None, Some(project)) => ("project_id", project.get()),
            (None, None) => return Ok(Vec::new()),
        };
        // The issue's index orders by time; a project's events come by arrival.
        let order = if column == "issue_id" {
            "timestamp DESC, id DESC"
        } else {
            "id DESC"
        };
        let mut qb = Builder::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE {column} = "
        ));
        qb.push_bind(id);
        push_event_filter_on(&mut qb, filter, "", self.dialect());
        qb.push(format!(" ORDER BY {order} LIMIT "))
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let events = qb.build_query_as().fetch_all(&self.pool).await?;
        self.all_readable(events).await
    }

    /// The event ids just older and just newer than this one in its issue (time, then arrival).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn neighbour_events(
        &self,
        issue_id: IssueId,
        event_id: &str,
    ) -> Result<Neighbours, StoreError> {
        let older = sql::query_scalar(
            "SELECT o.event_id FROM events e JOIN events o ON o.issue_id = e.issue_id
             WHERE e.issue_id = $1 AND e.event_id = $2
               AND (o.timestamp < e.timestamp OR (o.timestamp = e.timestamp AND o.id < e.id))
             ORDER BY o.timestamp DESC, o.id DESC LIMIT 1",
        )
        .bind(issue_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        let newer = sql::query_scalar(
            "SELECT o.event_id FROM events e JOIN events o ON o.issue_id = e.issue_id
             WHERE e.issue_id = $1 AND e.event_id = $2
               AND (o.timestamp > e.timestamp OR (o.timestamp = e.timestamp AND o.id > e.id))
             ORDER BY o.timestamp ASC, o.id ASC LIMIT 1",
        )
        .bind(issue_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Neighbours { older, newer })
    }

    /// The `n`-th attachment (0-based, in arrival order) of an event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn event_attachment(
        &self,
        project_id: ProjectId,
        event_id: &str,
        n: i64,
    ) -> Result<Option<Attachment>, StoreError> {
        Ok(sql::query_as(
            "SELECT filename, content_type, data FROM attachments
             WHERE project_id = $1 AND event_id = $2 ORDER BY id LIMIT 1 OFFSET $3",
        )
        .bind(project_id)
        .bind(event_id)
        .bind(n)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The feedback sent about an event, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn event_feedback(
        &self,
        project_id: ProjectId,
        event_id: &str,
    ) -> Result<Vec<UserReport>, StoreError> {
        Ok(sql::query_as(
            "SELECT event_id, name, email, comments FROM user_reports
             WHERE project_id = $1 AND event_id = $2 ORDER BY id",
        )
        .bind(project_id)
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::store::{IssueId, Store};

    #[tokio::test]
    async fn old_minutes_roll_up_into_hours_and_charts_read_both() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&Config::for_tests(&url)).await.unwrap();
        sqlx::query(
            "INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0);
             INSERT INTO issues (id, project_id, short_id, primary_hash, title, culprit, type, level,
                                 first_seen, last_seen, times_seen)
                 VALUES (7, 1, 1, 'h', 't', 'c', 'error', 'error', 0, 0, 6);
             INSERT INTO issue_minutes (issue_id, minute, count)
                 VALUES (7, 600, 1), (7, 610, 2), (7, 700, 1), (7, 3000, 2);",
        )
        .execute(store.sqlite_pool())
        .await
        .unwrap();
        // Minutes 600 and 610 (hour 10) and 700 (hour 11) are older than minute 2000.
        assert_eq!(store.roll_up_minutes(2000).await.unwrap(), 3);
        assert_eq!(store.issue_minute_total(IssueId(7)).await.unwrap(), 6);
        let hours: Vec<(i64, i64)> =
            sqlx::query_as("SELECT hour, count FROM issue_hours WHERE issue_id = 7 ORDER BY hour")
                .fetch_all(store.sqlite_pool())
                .await
                .unwrap();
        assert_eq!(hours, [(10, 3), (11, 1)]);
        // Daily buckets ending at minute 3000: hours and minutes land in the same two days.
        let days = store
            .issue_counts(&[IssueId(7)], 3000, 1440, 3)
            .await
            .unwrap();
        assert_eq!(days[&IssueId(7)], vec![0, 4, 2]);
        // Rolling up again moves nothing more.
        assert_eq!(store.roll_up_minutes(2000).await.unwrap(), 0);
        assert_eq!(store.issue_minute_total(IssueId(7)).await.unwrap(), 6);
    }
}
