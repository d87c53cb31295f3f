//! The tags of an issue's events: keys with their counts and top values.
//!
//! ```text
//! GET /api/0/issues/{id}/tags/                [{"key", "name", "totalValues", "uniqueValues", "topValues": [≤ 9]}]
//! GET /api/0/issues/{id}/tags/{key}/          one of them
//! GET /api/0/issues/{id}/tags/{key}/values/   [{"key", "name", "value", "count"}], most frequent first (paged)
//! GET /api/0/organizations/{org}/tags/?project=ID   [{"key", "name", "totalValues"}] across issues
//! ```

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::access::{IssuePath, authorized_issue};
use super::{Answer, ApiError, Query, base_url, link_header, page};
use crate::store::IssueId;
use crate::store::tokens::Scope;

/// Per tag key: its name, how many events carry it, and (when `top` > 0) its top values.
pub(super) async fn tag_summaries(
    state: &ApiState,
    issue_id: IssueId,
    top: usize,
) -> Result<Vec<Value>, ApiError> {
    let mut by_key: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for tag in state.store.issue_tags(issue_id).await? {
        by_key
            .entry(tag.key)
            .or_default()
            .push((tag.value, tag.count));
    }
    Ok(by_key
        .into_iter()
        .map(|(key, mut values)| {
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let total: i64 = values.iter().map(|(_, n)| n).sum();
            let mut v = json!({"key": key, "name": key, "totalValues": total, "uniqueValues": values.len()});
            if top > 0 {
                v["topValues"] = Value::Array(
                    values
                        .iter()
                        .take(top)
                        .map(|(value, n)| json!({"key": key, "name": value, "value": value, "count": n}))
                        .collect(),
                );
            }
            v
        })
        .collect())
}

/// The `{key}` of `…/tags/{key}/`.
#[derive(Debug, Deserialize)]
pub struct TagKey {
    key: String,
}

pub async fn issue_tags(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    Ok(HttpResponse::Ok().json(tag_summaries(&state, issue.id, 9).await?))
}

pub async fn issue_tag(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    tag: web::Path<TagKey>,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    tag_summaries(&state, issue.id, 9)
        .await?
        .into_iter()
        .find(|t| t["key"] == tag.key.as_str())
        .map(|t| HttpResponse::Ok().json(t))
        .ok_or(ApiError::NotFound)
}

/// A tag's values, most frequent first, a page at a time (`per_page`, `cursor`).
pub async fn issue_tag_values(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    tag: web::Path<TagKey>,
    query: Query,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    let (size, offset) = page(&query)?;
    let tag = tag_summaries(&state, issue.id, usize::MAX)
        .await?
        .into_iter()
        .find(|t| t["key"] == tag.key.as_str())
        .ok_or(ApiError::NotFound)?;
    let values = tag["topValues"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let start = (offset as usize).min(values.len());
    let end = (start + size as usize).min(values.len());
    let url = format!("{}{}", base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&url, &query, size, offset, end < values.len()),
        ))
        .json(&values[start..end]))
}

/// `GET /organizations/{org}/tags/`: the tag keys of the organization's events (of `project`,
/// repeatable, when given).
pub async fn org_tags(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    super::access::authorized_org(&req, &state, &path, Scope::EventRead).await?;
    let projects = super::issues::projects_of(&query)?;
    let keys: Vec<Value> = state
        .store
        .tag_keys(&projects)
        .await?
        .into_iter()
        .map(|(key, total)| json!({"key": key, "name": key, "totalValues": total}))
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}
