//! The OpenAPI document of `/api/0/` (served at `/api/0/openapi.json`). [`ENDPOINTS`] is the
//! one list of what the API serves: the integration tests call every entry, so the document
//! cannot claim an endpoint that is not there.

use serde_json::{Map, Value, json};

use crate::store::tokens::Scope;

/// (method, path, scope (none: no token needed), summary).
pub const ENDPOINTS: &[(&str, &str, Option<Scope>, &str)] = &[
    (
        "get",
        "/api/0/",
        None,
        "Auth information of the token (`auth.scopes`), or `auth: null` without one",
    ),
    (
        "get",
        "/api/0/auth/",
        Some(Scope::OrgRead),
        "The user the token acts for",
    ),
    (
        "get",
        "/api/0/organizations/",
        Some(Scope::OrgRead),
        "The organization of this installation",
    ),
    (
        "get",
        "/api/0/organizations/{org}/",
        Some(Scope::OrgRead),
        "The organization",
    ),
    (
        "get",
        "/api/0/organizations/{org}/projects/",
        Some(Scope::ProjectRead),
        "Projects",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/",
        Some(Scope::EventRead),
        "Issues of every project (`project` repeatable, `query`, `sort`, `statsPeriod`, `cursor`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/",
        Some(Scope::EventRead),
        "An issue",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/",
        Some(Scope::ProjectRead),
        "A project, with what it stores (`storage`) and its caps (`quotas`)",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/",
        Some(Scope::ProjectWrite),
        "Snag: set the project's caps: `{\"quotas\": {\"dailyEvents\": n|null, \"attachmentBytes\": n|null}}`",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/keys/",
        Some(Scope::ProjectRead),
        "A project's keys and DSNs, with their `rateLimit`",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/keys/{key_id}/",
        Some(Scope::ProjectWrite),
        "Set a key's rate limit `{\"rateLimit\": {\"count\": n, \"window\": seconds} | null}` or `isActive`",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/issues/",
        Some(Scope::EventRead),
        "A project's issues (`query` as in the UI, `statsPeriod` 24h|14d, `sort` date|new|freq|user|trends, `cursor`, `per_page` ≤ 100)",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/issues/",
        Some(Scope::EventWrite),
        "Bulk status change of `?id=…` issues (or those with `?status=`): `{\"status\": \"resolved|unresolved|ignored|muted\"}`",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/events/",
        Some(Scope::EventRead),
        "A project's events, newest first (`full=true` for whole events)",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/events/{event_id}/",
        Some(Scope::EventRead),
        "An event",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/alert-settings/",
        Some(Scope::ProjectRead),
        "Snag: the project's alert rules",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/alert-settings/",
        Some(Scope::ProjectWrite),
        "Snag: change alert rules (any of the GET fields)",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/grouping-rules/",
        Some(Scope::ProjectRead),
        "Snag: the project's stack-trace and fingerprint rules",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/grouping-rules/",
        Some(Scope::ProjectWrite),
        "Snag: set grouping rules (Sentry's syntax)",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/",
        Some(Scope::EventRead),
        "An issue, with 24h and 30d stats and tag keys",
    ),
    (
        "put",
        "/api/0/issues/{issue_id}/",
        Some(Scope::EventWrite),
        "Change an issue's status",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/events/",
        Some(Scope::EventRead),
        "An issue's events, newest first (`query`, `environment`, `statsPeriod` or `start`/`end`)",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/events/{event_id}/",
        Some(Scope::EventRead),
        "An event of the issue: an id, `latest`, `oldest` or `recommended`",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/tags/",
        Some(Scope::EventRead),
        "Tag keys of an issue with their top values",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/tags/{key}/",
        Some(Scope::EventRead),
        "One tag key of an issue",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/tags/{key}/values/",
        Some(Scope::EventRead),
        "Every value of one tag key of an issue",
    ),
    (
        "put",
        "/api/0/organizations/{org}/issues/{issue_id}/",
        Some(Scope::EventWrite),
        "Change an issue's status",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/events/",
        Some(Scope::EventRead),
        "An issue's events, newest first (`query`, `environment`, `statsPeriod` or `start`/`end`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/events/{event_id}/",
        Some(Scope::EventRead),
        "An event of the issue: an id, `latest`, `oldest` or `recommended`",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/tags/",
        Some(Scope::EventRead),
        "Tag keys of an issue with their top values",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/tags/{key}/",
        Some(Scope::EventRead),
        "One tag key of an issue",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/tags/{key}/values/",
        Some(Scope::EventRead),
        "Every value of one tag key of an issue",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/activities/",
        Some(Scope::EventRead),
        "An issue's activity: status changes, assignments, notes, regressions, first seen",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/activities/",
        Some(Scope::EventRead),
        "An issue's activity: status changes, assignments, notes, regressions, first seen",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/comments/",
        Some(Scope::EventRead),
        "An issue's notes",
    ),
    (
        "post",
        "/api/0/issues/{issue_id}/comments/",
        Some(Scope::EventWrite),
        "Add a note to an issue (`{\"text\": …}`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/shortids/{short_id}/",
        Some(Scope::EventRead),
        "The issue a short id (`SHOP-12`) names",
    ),
    (
        "get",
        "/api/0/organizations/{org}/teams/",
        Some(Scope::OrgRead),
        "The one team, `everyone`, with every project",
    ),
    (
        "get",
        "/api/0/teams/{org}/everyone/",
        Some(Scope::OrgRead),
        "The one team",
    ),
    (
        "get",
        "/api/0/teams/{org}/everyone/projects/",
        Some(Scope::ProjectRead),
        "The team's projects: every project",
    ),
    (
        "get",
        "/api/0/organizations/{org}/members/",
        Some(Scope::OrgRead),
        "The users, as members (administrators are owners)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/repos/",
        Some(Scope::OrgRead),
        "Repositories: none (Snag keeps none)",
    ),
    (
        "post",
        "/api/0/organizations/{org}/releases/",
        Some(Scope::ProjectWrite),
        "Create a release (`{\"version\", \"projects\": [slug]}`), or archive one (`status`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/releases/",
        Some(Scope::ProjectRead),
        "Releases, newest first (`project`, `query`, `status=archived`)",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/releases/",
        Some(Scope::ProjectRead),
        "A project's releases, newest first",
    ),
    (
        "get",
        "/api/0/organizations/{org}/releases/{version}/",
        Some(Scope::ProjectRead),
        "A release: first and last event, new issues, deploys, projects",
    ),
    (
        "put",
        "/api/0/organizations/{org}/releases/{version}/",
        Some(Scope::ProjectWrite),
        "Finalize (`dateReleased`), archive or restore (`status`) a release",
    ),
    (
        "post",
        "/api/0/organizations/{org}/releases/{version}/deploys/",
        Some(Scope::ProjectWrite),
        "Record a deploy of the release (`environment`, `name`, `url`, `dateStarted`, `dateFinished`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/releases/{version}/deploys/",
        Some(Scope::ProjectRead),
        "A release's deploys, newest first",
    ),
    (
        "get",
        "/api/0/organizations/{org}/releases/{version}/commits/",
        Some(Scope::ProjectRead),
        "A release's commits: none (Snag keeps no repositories)",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/releases/{version}/commits/",
        Some(Scope::ProjectRead),
        "The project's release's commits: none",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/releases/{version}/",
        Some(Scope::ProjectRead),
        "A release of the project (sentry-cli `-p`)",
    ),
    (
        "post",
        "/api/0/projects/{org}/{project}/releases/{version}/deploys/",
        Some(Scope::ProjectWrite),
        "Record a deploy of the project's release",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/releases/{version}/deploys/",
        Some(Scope::ProjectRead),
        "The deploys of the project's release",
    ),
    (
        "delete",
        "/api/0/organizations/{org}/releases/{version}/",
        Some(Scope::ProjectAdmin),
        "Delete a release and its deploys",
    ),
    (
        "get",
        "/api/0/organizations/{org}/tags/",
        Some(Scope::EventRead),
        "Tag keys of the organization's events (`project`), with how many events carry each",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/user-feedback/",
        Some(Scope::ProjectRead),
        "A project's user feedback, newest first",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/events/{event_id}/attachments/",
        Some(Scope::EventRead),
        "An event's attachments (without their bytes)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/events/",
        Some(Scope::EventRead),
        "Event search. Errors dataset: fields (columns, event fields such as `error.type`, any tag), aggregates grouped by the other fields, `query`, `sort`, a time range. Logs dataset (`dataset=logs` or `ourlogs`): fields `sentry.item_id`, `trace`, `severity`, `severity_number`, `message`, `timestamp`, `timestamp_precise`, `project`, `project.id`, `payload_size` and any attribute (`logger.name`, `environment`, `message.parameter.0`), `count()` and `count_unique(field)` grouped by the others; `query` in the logs search language (`severity:[warn,error] logger.name:shop.orders card declined trace:ID timestamp_precise:>NS`), `sort` `-timestamp` or `timestamp`, `per_page` 1-9999, `statsPeriod` or `start`/`end`",
    ),
    (
        "get",
        "/api/0/organizations/{org}/events/validate/",
        Some(Scope::EventRead),
        "Whether an event search would run, part by part (`field`, `query`, `orderby`, `project`, `environment`, `dataset`: errors or logs); 400 with the same body when not",
    ),
    (
        "get",
        "/api/0/organizations/{org}/trace-logs/",
        Some(Scope::EventRead),
        "The log lines of one or more traces (`traceId` repeatable, required) in every project: `sentry.item_id`, `project.id`, `trace`, `severity_number`, `severity`, `timestamp`, `timestamp_precise`, `message`; `query` narrows them, `sort` `-timestamp` (default) or `timestamp`, `per_page`",
    ),
    (
        "get",
        "/api/0/organizations/{org}/events-stats/",
        Some(Scope::EventRead),
        "Counts of an event search per time bucket (`yAxis`, `interval`), overall or for the `topEvents` groups of `field`",
    ),
    (
        "get",
        "/api/0/organizations/{org}/stats_v2/",
        Some(Scope::OrgRead),
        "What became of what SDKs sent (accepted, rate_limited, invalid), summed per `interval` (`field=sum(quantity)|sum(times_seen)`, `groupBy` outcome, category, reason, project; `category`, `outcome`, `reason`, `project` filters)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/events-timeseries/",
        Some(Scope::EventRead),
        "The same charts as time series (`yAxis`, `groupBy`, `topEvents`, `interval`)",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/notes/",
        Some(Scope::EventRead),
        "An issue's notes (as `comments/`)",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/user-reports/",
        Some(Scope::EventRead),
        "User feedback about an issue's events, newest first",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/comments/",
        Some(Scope::EventRead),
        "An issue's notes",
    ),
    (
        "post",
        "/api/0/organizations/{org}/issues/{issue_id}/comments/",
        Some(Scope::EventWrite),
        "Add a note to an issue (`text`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/notes/",
        Some(Scope::EventRead),
        "An issue's notes (as `comments/`)",
    ),
    (
        "post",
        "/api/0/organizations/{org}/issues/{issue_id}/notes/",
        Some(Scope::EventWrite),
        "Add a note to an issue (as `comments/`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/user-reports/",
        Some(Scope::EventRead),
        "User feedback about an issue's events, newest first",
    ),
    (
        "get",
        "/api/0/organizations/{org}/issues/{issue_id}/autofix/",
        Some(Scope::EventRead),
        "Seer's analysis: not in Snag; 403 `AI Autofix is not enabled for this organization.`, as Sentry answers with the feature off",
    ),
    (
        "post",
        "/api/0/organizations/{org}/issues/{issue_id}/autofix/",
        Some(Scope::EventRead),
        "Start Seer's analysis: 403 as above",
    ),
    (
        "get",
        "/api/0/issues/{issue_id}/autofix/",
        Some(Scope::EventRead),
        "Seer's analysis: 403 as above",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/events/{event_id}/attachments/{attachment_id}/",
        Some(Scope::EventRead),
        "An attachment's bytes, always as a download",
    ),
    // Monitors, in the order a client creates, reads, changes and deletes one.
    (
        "post",
        "/api/0/organizations/{org}/monitors/",
        Some(Scope::ProjectWrite),
        "Create a cron monitor (`project`, `name`, `slug`, `status`, `isMuted`, `type`: cron_job, `config`: `{\"schedule_type\": \"crontab\", \"schedule\": \"0 2 * * *\", \"timezone\", \"checkin_margin\", \"max_runtime\", …}`); a taken slug is a 400",
    ),
    (
        "get",
        "/api/0/organizations/{org}/monitors/",
        Some(Scope::OrgRead),
        "Cron monitors, those in error first, then by name (`project` and `environment` repeatable, `query` in the name or slug, `cursor`)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/monitors/{monitor_slug}/",
        Some(Scope::OrgRead),
        "A cron monitor, with its state per environment",
    ),
    (
        "put",
        "/api/0/organizations/{org}/monitors/{monitor_slug}/",
        Some(Scope::ProjectWrite),
        "Change a monitor: any of `name`, `slug`, `status` (active|disabled), `isMuted`, `config` (replaced as a whole)",
    ),
    (
        "get",
        "/api/0/organizations/{org}/monitors/{monitor_slug}/checkins/",
        Some(Scope::OrgRead),
        "A monitor's check-ins, newest first (`environment` repeatable, `statsPeriod` or `start`/`end`, default 90 days)",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/monitors/{monitor_slug}/",
        Some(Scope::ProjectRead),
        "A cron monitor of the project",
    ),
    (
        "put",
        "/api/0/projects/{org}/{project}/monitors/{monitor_slug}/",
        Some(Scope::ProjectWrite),
        "Change a cron monitor of the project",
    ),
    (
        "get",
        "/api/0/projects/{org}/{project}/monitors/{monitor_slug}/checkins/",
        Some(Scope::ProjectRead),
        "The check-ins of a cron monitor of the project",
    ),
    (
        "delete",
        "/api/0/projects/{org}/{project}/monitors/{monitor_slug}/",
        Some(Scope::ProjectAdmin),
        "Delete a cron monitor of the project: 202",
    ),
    (
        "delete",
        "/api/0/organizations/{org}/monitors/{monitor_slug}/",
        Some(Scope::ProjectAdmin),
        "Delete a cron monitor with its check-ins (not `?environment=`: Snag deletes whole monitors); 202, its issues stay",
    ),
    ("get", "/api/0/openapi.json", None, "This document"),
];

pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, scope, summary) in ENDPOINTS {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "400": {"description": "Malformed input: {\"detail\": …}"},
                "401": {"description": "No valid token: {\"detail\": …}"},
                "403": {"description": "The token lacks the scope: {\"detail\": …}"},
                "404": {"description": "No such resource: {\"detail\": …}"},
            },
        });
        if let Some(scope) = scope {
            operation["security"] = json!([{"bearer": [scope.name()]}]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Snag API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The part of Sentry's Web API (/api/0/) that sentry-cli and integrations call, plus Snag's settings endpoints.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    })
}
