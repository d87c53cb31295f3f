//! Snag's own project settings: alerts and grouping rules.
//!
//! ```text
//! GET /api/0/projects/{org}/{project}/alert-settings/   {"onNewIssue": true, "spikeMinCount": 10, …, "webhookUrl": masked | null, "webhookConfigured": bool}
//! PUT /api/0/projects/{org}/{project}/alert-settings/   any of those fields; webhookUrl takes project:admin
//! GET /api/0/projects/{org}/{project}/grouping-rules/   {"stacktraceRules": "…", "fingerprintRules": "…"}
//! PUT /api/0/projects/{org}/{project}/grouping-rules/   either or both (null or missing: unchanged)
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::ApiState;
use super::access::{authorize, authorized_project, json_body, project_of};
use super::{Answer, ApiError};
use crate::store::alerts::AlertSettings;
use crate::store::tokens::{ApiToken, Scope};

/// The settings as JSON. The webhook URL is a secret (chat tools put their key in it): a
/// `project:admin` token sees it masked, any other only whether one is set.
fn settings_json(s: &AlertSettings, token: &ApiToken) -> Value {
    let webhook = s
        .webhook_url
        .as_deref()
        .filter(|_| token.has_scope(Scope::ProjectAdmin))
        .map(crate::alerts::webhook::masked);
    json!({
        "onNewIssue": s.on_new, "onRegression": s.on_regression, "onSpike": s.on_spike,
        "spikeMinCount": s.spike_min_count, "spikeRatio": s.spike_ratio, "spikeZ": s.spike_z,
        "frequencyCount": s.frequency_count, "frequencyMinutes": s.frequency_minutes,
        "cooldownMinutes": s.cooldown_minutes, "recipients": s.recipients,
        "maxEmailsPerHour": s.max_emails_per_hour, "webhookUrl": webhook,
        "webhookConfigured": s.webhook_url.is_some(),
    })
}

pub async fn alert_settings(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let token = authorize(&req, &state, Scope::ProjectRead).await?;
    let project = project_of(&state, &path.0, &path.1).await?;
    Ok(HttpResponse::Ok().json(settings_json(
        &state.store.alert_settings(project.id).await?,
        &token,
    )))
}

/// `PUT` with any of the fields of the GET answer; the others keep their values. Setting
/// `webhookUrl` (a URL, or null to remove it) takes `project:admin`.
pub async fn set_alert_settings(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    let token = authorize(&req, &state, Scope::ProjectWrite).await?;
    let project = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let mut s = state.store.alert_settings(project.id).await?;
    let bad = |k: &str| ApiError::BadRequest(format!("invalid {k}"));
    for (key, value) in &body {
        let positive = || value.as_i64().filter(|n| *n >= 1).ok_or_else(|| bad(key));
        let optional = || match value {
            Value::Null => Ok(None),
            _ => value
                .as_i64()
                .filter(|n| *n >= 1)
                .map(Some)
                .ok_or_else(|| bad(key)),
        };
        let flag = || value.as_bool().ok_or_else(|| bad(key));
        let ratio = || value.as_f64().filter(|n| *n >= 1.0).ok_or_else(|| bad(key));
        let text = || match value {
            Value::Null => Ok(None),
            Value::String(t) => Ok(Some(t.clone())),
            _ => Err(bad(key)),
        };
        match key.as_str() {
            "onNewIssue" => s.on_new = flag()?,
            "onRegression" => s.on_regression = flag()?,
            "onSpike" => s.on_spike = flag()?,
            "spikeMinCount" => s.spike_min_count = positive()?,
            "spikeRatio" => s.spike_ratio = ratio()?,
            "spikeZ" => s.spike_z = ratio()?,
            "frequencyCount" => s.frequency_count = optional()?,
            "frequencyMinutes" => s.frequency_minutes = optional()?,
            "cooldownMinutes" => s.cooldown_minutes = positive()?,
            "maxEmailsPerHour" => s.max_emails_per_hour = positive()?,
            "recipients" => s.recipients = text()?,
            "webhookUrl" if !token.has_scope(Scope::ProjectAdmin) => {
                return Err(ApiError::Forbidden);
            }
            "webhookUrl" => s.webhook_url = text()?,
            "webhookConfigured" => {}
            other => return Err(ApiError::BadRequest(format!("unknown field {other:?}"))),
        }
    }
    let allow = crate::alerts::webhook::AllowList::new(&state.config.mail.webhook_allow_hosts);
    let s = crate::alerts::settings_to_save(s, &allow)
        .await
        .map_err(ApiError::BadRequest)?;
    state.store.set_alert_settings(project.id, &s).await?;
    Ok(HttpResponse::Ok().json(settings_json(&s, &token)))
}

pub async fn grouping_rules(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectRead).await?;
    let rules = state.store.grouping_rules(project.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"stacktraceRules": rules.stacktrace, "fingerprintRules": rules.fingerprints})))
}

pub async fn set_grouping_rules(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectWrite).await?;
    let body = json_body(&body)?;
    let text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::BadRequest(format!("{k} must be a string"))),
    };
    let (stacktrace, fingerprints) = (text("stacktraceRules")?, text("fingerprintRules")?);
    let current = state.store.grouping_rules(project.id).await?;
    crate::grouping::ProjectRules::parse(
        stacktrace.as_deref().unwrap_or(&current.stacktrace),
        fingerprints.as_deref().unwrap_or(&current.fingerprints),
    )
    .map_err(ApiError::BadRequest)?;
    state
        .store
        .set_grouping_rules(
            &project.name,
            stacktrace.as_deref(),
            fingerprints.as_deref(),
        )
        .await?;
    let rules = state.store.grouping_rules(project.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"stacktraceRules": rules.stacktrace, "fingerprintRules": rules.fingerprints})))
}
