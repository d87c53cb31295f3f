//! Projects: their DSNs with a how-to-connect snippet, creating one, and grouping rules.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::auth::{check_csrf, require_admin, signed_in};
use super::format::{self, Bar};
use super::issues::Nav;
use super::{WebError, page, see_other};
use crate::app::dsn;
use crate::format::field;
use crate::grouping::ProjectRules;
use crate::store::alerts::AlertSettings;
use crate::store::projects::NewProject;
use crate::store::quotas::{KeyRateLimit, ProjectQuotas};
use crate::store::retention::ProjectUsage;
use crate::store::{ProjectId, StoreError};
use crate::time;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects", web::get().to(projects))
        .route("/projects", web::post().to(create))
        .route("/projects/{id}/rules", web::post().to(rules))
        .route("/projects/{id}/alerts", web::post().to(alerts))
        .route("/projects/{id}/quotas", web::post().to(quotas));
}

/// The rate-limit windows offered (Sentry's): seconds and label.
const WINDOWS: [(u64, &str); 7] = [
    (60, "minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (3600, "hour"),
    (21_600, "6 hours"),
    (43_200, "12 hours"),
    (86_400, "day"),
];

/// A key's rate limit as the form shows it.
struct KeyQuota {
    public_key: String,
    /// Events per window; empty: no limit.
    count: String,
    window: u64,
}

struct ProjectCard {
    id: ProjectId,
    name: String,
    dsns: Vec<String>,
    stacktrace_rules: String,
    fingerprint_rules: String,
    /// The settings, without the webhook URL (a secret: see `webhook`).
    alerts: AlertSettings,
    /// The webhook as the viewer may see it: masked for administrators, only "set" for others.
    webhook: Option<String>,
    /// Events per minute over the last hour, and their total.
    per_minute: Vec<Bar>,
    last_hour: String,
    /// What retention has left: events stored and the bytes of the events and attachments.
    stored_events: String,
    stored_bytes: String,
    keys: Vec<KeyQuota>,
    /// The caps as the form shows them; empty: none.
    daily_events: String,
    attachment_bytes: String,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    nav: Option<Nav>,
    csrf: String,
    projects: Vec<ProjectCard>,
    error: Option<String>,
    /// Which project the error is about (`None`: the new-project form).
    error_project: Option<ProjectId>,
    name: String,
    windows: [(u64, &'static str); 7],
}

async fn render(
    req: &HttpRequest,
    state: &WebState,
    session: &Session,
    error: Option<(Option<ProjectId>, String)>,
    name: String,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(req, session, state).await?;
    let base_url = state
        .config
        .public_base_url(req.app_config().local_addr().into());
    let mut projects = Vec::new();
    let now_minute = time::minute_of(time::now_ms());
    let usage = state.store.project_usage().await?;
    for (project, keys) in state.store.list_projects().await? {
        let used = usage
            .iter()
            .find(|u| u.project_id == project.id)
            .cloned()
            .unwrap_or_else(|| ProjectUsage::empty(project.id));
        let quotas = state.store.project_quotas(project.id).await?;
        let rules = state.store.grouping_rules(project.id).await?;
        let (stacktrace_rules, fingerprint_rules) = (rules.stacktrace, rules.fingerprints);
        let counts = state
            .store
            .project_minutes(project.id, now_minute, 60)
            .await?;
        let mut alerts = state.store.alert_settings(project.id).await?;
        let webhook = alerts.webhook_url.take().map(|url| {
            if who.user.is_admin {
                crate::alerts::webhook::masked(&url)
            } else {
                "set (shown to administrators)".to_owned()
            }
        });
        projects.push(ProjectCard {
            alerts,
            webhook,
            per_minute: format::bars(&counts, 480.0, 60.0, &[]),
            last_hour: format::count(counts.iter().sum()),
            keys: keys
                .iter()
                .map(|k| {
                    let limit = k.rate_limit();
                    KeyQuota {
                        public_key: k.public_key.clone(),
                        count: limit.map(|l| l.count.to_string()).unwrap_or_default(),
                        window: limit.map_or(60, |l| l.window_secs),
                    }
                })
                .collect(),
            daily_events: quotas
                .daily_events
                .map(|n| n.to_string())
                .unwrap_or_default(),
            attachment_bytes: quotas
                .attachment_bytes
                .map(|n| bytesize::ByteSize::b(n).to_string())
                .unwrap_or_default(),
            stored_events: format::count(used.events),
            stored_bytes: bytesize::ByteSize::b(
                (used.event_bytes + used.attachment_bytes).max(0) as u64
            )
            .to_string(),
            dsns: keys
                .iter()
                .filter(|k| k.active)
                .map(|k| dsn(&base_url, &k.public_key, project.id))
                .collect(),
            id: project.id,
            name: project.name,
            stacktrace_rules,
            fingerprint_rules,
        });
    }
    let failed = error.is_some();
    let (error_project, error) = match error {
        Some((p, e)) => (p, Some(e)),
        None => (None, None),
    };
    let mut response = page(&ProjectsPage {
        nav: Some(Nav::new(&who, "projects")),
        csrf: who.csrf.clone(),
        projects,
        error,
        error_project,
        name,
        windows: WINDOWS,
    })?;
    if failed {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

async fn projects(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    render(&req, &state, &session, None, String::new()).await
}

#[derive(Deserialize)]
struct CreateForm {
    name: String,
    csrf: String,
}

async fn create(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    require_admin(&signed_in(&req, &session, &state).await?)?;
    check_csrf(&session, &form.csrf)?;
    let new = NewProject {
        name: form.name.trim().to_owned(),
        ..NewProject::default()
    };
    match state.store.create_project(&new).await {
        Ok((project, _)) => Ok(see_other(&format!("/projects#project-{}", project.id))),
        Err(StoreError::Invalid(e) | StoreError::Conflict(e)) => {
            render(&req, &state, &session, Some((None, e)), form.name.clone()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RulesForm {
    stacktrace_rules: String,
    fingerprint_rules: String,
    csrf: String,
}

async fn rules(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<ProjectId>,
    form: web::Form<RulesForm>,
) -> Result<HttpResponse, WebError> {
    require_admin(&signed_in(&req, &session, &state).await?)?;
    check_csrf(&session, &form.csrf)?;
    let id = path.into_inner();
    let project = state
        .store
        .list_projects()
        .await?
        .into_iter()
        .find(|(p, _)| p.id == id)
        .map(|(p, _)| p)
        .ok_or(WebError::NotFound)?;
    if let Err(e) = ProjectRules::parse(&form.stacktrace_rules, &form.fingerprint_rules) {
        return render(&req, &state, &session, Some((Some(id), e)), String::new()).await;
    }
    state
        .store
        .set_grouping_rules(
            &project.name,
            Some(&form.stacktrace_rules),
            Some(&form.fingerprint_rules),
        )
        .await?;
    Ok(see_other(&format!("/projects#project-{id}")))
}

/// A number field of a form: empty is none; anything else must parse and be at least `min`.
fn number<T: std::str::FromStr + PartialOrd>(
    text: &str,
    name: &str,
    min: T,
) -> Result<Option<T>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<T>() {
        Ok(v) if v >= min => Ok(Some(v)),
        _ => Err(format!(
            "{name} must be a number, at least 1 (got {text:?})"
        )),
    }
}

/// The alert settings form: unchecked boxes are absent, empty numbers mean "off" or default.
#[derive(Deserialize)]
struct AlertsForm {
    csrf: String,
    on_new: Option<String>,
    on_regression: Option<String>,
    on_spike: Option<String>,
    spike_min_count: String,
    spike_ratio: String,
    spike_z: String,
    frequency_count: String,
    frequency_minutes: String,
    cooldown_minutes: String,
    recipients: String,
    max_emails_per_hour: String,
    /// Empty keeps the webhook set before (the page never shows it).
    #[serde(default)]
    webhook_url: String,
    remove_webhook: Option<String>,
}

impl AlertsForm {
    /// The settings to save; `current_webhook` is kept unless replaced or removed.
    fn settings(&self, current_webhook: Option<String>) -> Result<AlertSettings, String> {
        let defaults = AlertSettings::default();
        let text = |t: &str| (!t.trim().is_empty()).then(|| t.to_owned());
        let webhook_url = match (self.remove_webhook.is_some(), text(&self.webhook_url)) {
            (true, _) => None,
            (false, Some(new)) => Some(new),
            (false, None) => current_webhook,
        };
        Ok(AlertSettings {
            webhook_url,
            on_new: self.on_new.is_some(),
            on_regression: self.on_regression.is_some(),
            on_spike: self.on_spike.is_some(),
            spike_min_count: number(&self.spike_min_count, "The minimum count", 1)?
                .unwrap_or(defaults.spike_min_count),
            spike_ratio: number(&self.spike_ratio, "The ratio", 1.0)?
                .unwrap_or(defaults.spike_ratio),
            spike_z: number(&self.spike_z, "The z-score", 1.0)?.unwrap_or(defaults.spike_z),
            frequency_count: number(&self.frequency_count, "The event count", 1)?,
            frequency_minutes: number(&self.frequency_minutes, "The minutes", 1)?,
            cooldown_minutes: number(&self.cooldown_minutes, "The cooldown", 1)?
                .unwrap_or(defaults.cooldown_minutes),
            recipients: text(&self.recipients),
            max_emails_per_hour: number(&self.max_emails_per_hour, "The hourly limit", 1)?
                .unwrap_or(defaults.max_emails_per_hour),
        })
    }
}

async fn alerts(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<ProjectId>,
    form: web::Form<AlertsForm>,
) -> Result<HttpResponse, WebError> {
    require_admin(&signed_in(&req, &session, &state).await?)?;
    check_csrf(&session, &form.csrf)?;
    let id = path.into_inner();
    if !state
        .store
        .list_projects()
        .await?
        .iter()
        .any(|(p, _)| p.id == id)
    {
        return Err(WebError::NotFound);
    }
    let current = state.store.alert_settings(id).await?.webhook_url;
    let allow = crate::alerts::webhook::AllowList::new(&state.config.mail.webhook_allow_hosts);
    let checked = match form.settings(current) {
        Ok(settings) => crate::alerts::settings_to_save(settings, &allow).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(settings) => {
            state.store.set_alert_settings(id, &settings).await?;
            Ok(see_other(&format!("/projects#project-{id}")))
        }
        Err(e) => render(&req, &state, &session, Some((Some(id), e)), String::new()).await,
    }
}

/// The quotas form: per key `rate_count_<key>` and `rate_window_<key>` (seconds), and the
/// project's `daily_events` and `attachment_bytes` (`2GB`, `500 MiB`). Empty lifts a limit.
async fn quotas(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<ProjectId>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    require_admin(&signed_in(&req, &session, &state).await?)?;
    check_csrf(&session, field(&form, "csrf").unwrap_or_default())?;
    let id = path.into_inner();
    let projects = state.store.list_projects().await?;
    let (_, keys) = projects
        .iter()
        .find(|(p, _)| p.id == id)
        .ok_or(WebError::NotFound)?;
    let text = |name: &str| field(&form, name).unwrap_or_default().to_owned();
    let parsed = (|| -> Result<_, String> {
        let mut limits = Vec::new();
        for key in keys {
            let count = number::<u64>(
                &text(&format!("rate_count_{}", key.public_key)),
                "The event count",
                1,
            )?;
            let window = number::<u64>(
                &text(&format!("rate_window_{}", key.public_key)),
                "The window",
                1,
            )?
            .unwrap_or(60);
            let limit = count
                .map(|count| KeyRateLimit::new(count, window).map_err(|e| e.to_string()))
                .transpose()?;
            limits.push((key.public_key.clone(), limit));
        }
        let daily_events = number::<u64>(&text("daily_events"), "The daily cap", 1)?;
        let attachment_bytes = match text("attachment_bytes").trim() {
            "" => None,
            size => Some(
                size.parse::<bytesize::ByteSize>()
                    .ok()
                    .map(|b| b.as_u64())
                    .filter(|b| *b > 0)
                    .ok_or_else(|| {
                        format!(
                            "The attachment cap must be a size like 2GB or 500 MiB (got {size:?})"
                        )
                    })?,
            ),
        };
        Ok((
            limits,
            ProjectQuotas {
                daily_events,
                attachment_bytes,
            },
        ))
    })();
    match parsed {
        Ok((limits, quotas)) => {
            for (key, limit) in limits {
                state.store.set_key_rate_limit(&key, limit).await?;
            }
            state.store.set_project_quotas(id, quotas).await?;
            Ok(see_other(&format!("/projects#project-{id}")))
        }
        Err(e) => render(&req, &state, &session, Some((Some(id), e)), String::new()).await,
    }
}
