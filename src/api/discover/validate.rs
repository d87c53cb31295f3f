//! `/organizations/{org}/events/validate/`: whether a search would run, part by part, so a
//! client (Sentry's MCP server) can fix it before asking. 200 when it would, 400 when not,
//! the same body either way:
//!
//! ```text
//! GET …/events/validate/?dataset=errors&field=title&field=nope()&query=level:error&orderby=-timestamp
//! → 400 {"valid": false,
//!        "projects": [], "dataset": [{"name": "errors", "valid": true, "error": null}],
//!        "environment": [],
//!        "field": [{"name": "title", "valid": true, "attrType": "string", "error": null},
//!                  {"name": "nope()", "valid": false, "attrType": null, "error": "unknown field …"}],
//!        "query": {"valid": true, "error": null, "fields": [{"name": "level", …}]},
//!        "orderby": [{"name": "timestamp", "valid": false, …, "error": "sort by one of the fields asked for …"}]}
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::fields::{Asked, FIELDS, field_of};
use super::{Plan, apply_query, asked_fields, check_dataset, sort_of};
use crate::api::access::authorized_org;
use crate::api::{Answer, ApiError, ApiState, Query};
use crate::format::field as get;
use crate::store::discover::{Field, Kind};
use crate::store::tokens::Scope;

/// `string`, `number` or `boolean`: the attribute types the MCP server knows.
fn attr_type(asked: &Asked) -> &'static str {
    match asked {
        Asked::Stored(Field::Aggregate(_)) => "number",
        Asked::Stored(field) if field.kind() == Kind::Integer => "number",
        _ => "string",
    }
}

fn checked(name: &str, found: Result<Asked, String>) -> Value {
    match found {
        Ok(asked) => {
            json!({"name": name, "valid": true, "attrType": attr_type(&asked), "error": null})
        }
        Err(error) => json!({"name": name, "valid": false, "attrType": null, "error": error}),
    }
}

fn message(error: ApiError) -> String {
    match error {
        ApiError::BadRequest(text) => text,
        other => other.to_string(),
    }
}

pub async fn validate(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    if crate::api::logs::is_logs(get(&query, "dataset")) {
        return crate::api::logs::validate(&state, &query).await;
    }
    let dataset = get(&query, "dataset").unwrap_or("errors");
    let dataset_error = check_dataset(&query).err().map(message);

    let mut projects = Vec::new();
    for (_, id) in query.iter().filter(|(k, v)| k == "project" && v != "-1") {
        let error = match id.parse::<crate::store::ProjectId>() {
            Err(_) => Some(format!("invalid project {id:?}")),
            Ok(project) => match state.store.get_project(project).await? {
                Some(_) => None,
                None => Some(format!("no project {id}")),
            },
        };
        projects.push(json!({"valid": error.is_none(), "error": error}));
    }
    let environments: Vec<Value> = query
        .iter()
        .filter(|(k, _)| k == "environment")
        .map(|(_, e)| match e.is_empty() {
            true => json!({"valid": false, "error": "an empty environment"}),
            false => json!({"valid": true, "error": null}),
        })
        .collect();

    let names: Vec<&String> = query
        .iter()
        .filter(|(k, _)| k == "field")
        .map(|(_, v)| v)
        .collect();
    let fields: Vec<Value> = names
        .iter()
        .map(|name| {
            let found = field_of(name)
                .ok_or_else(|| format!("unknown field {name:?}; fields are {FIELDS}"));
            checked(name, found)
        })
        .collect();
    let known = asked_fields(&query, "field").unwrap_or_default();

    let text = get(&query, "query").unwrap_or("");
    let mut plan = Plan::default();
    let query_error = apply_query(&state, text, &mut plan)
        .await
        .err()
        .map(message);
    let query_fields: Vec<Value> = crate::issue_search::parse(text)
        .map(|parsed| parsed.tags)
        .unwrap_or_default()
        .iter()
        .map(|(key, _)| {
            let found = field_of(key).ok_or_else(|| format!("{key:?} is not a field of events"));
            checked(key, found)
        })
        .collect();

    let orderby: Vec<Value> = query
        .iter()
        .filter(|(k, v)| (k == "orderby" || k == "sort") && !v.is_empty())
        .map(|(_, sort)| {
            let name = sort.trim_start_matches('-');
            let found = sort_of(Some(sort), &known)
                .map_err(message)
                .and_then(|_| field_of(name).ok_or_else(|| format!("unknown field {name:?}")));
            checked(name, found)
        })
        .collect();

    let all_valid = |list: &[Value]| list.iter().all(|v| v["valid"] == json!(true));
    let valid = dataset_error.is_none()
        && query_error.is_none()
        && all_valid(&projects)
        && all_valid(&environments)
        && all_valid(&fields)
        && all_valid(&orderby);
    let body = json!({
        "valid": valid,
        "projects": projects,
        "dataset": [{"name": dataset, "valid": dataset_error.is_none(), "error": dataset_error}],
        "environment": environments,
        "field": fields,
        "query": {"valid": query_error.is_none(), "error": query_error, "fields": query_fields},
        "orderby": orderby,
    });
    Ok(match valid {
        true => HttpResponse::Ok().json(body),
        false => HttpResponse::BadRequest().json(body),
    })
}
