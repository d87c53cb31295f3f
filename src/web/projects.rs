//! Projects: their DSNs with a how-to-connect snippet, creating one, and grouping rules.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{check_csrf, require_admin, signed_in};
use super::format::{self, Bar};
use super::issues::Nav;
use super::{WebError, page, see_other};
use crate::app::{AppState, dsn};
use crate::grouping::ProjectRules;
use crate::store::StoreError;
use crate::store::alerts::AlertSettings;
use crate::store::projects::NewProject;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects", web::get().to(projects))
        .route("/projects", web::post().to(create))
        .route("/projects/{id}/rules", web::post().to(rules))
        .route("/projects/{id}/alerts", web::post().to(alerts));
}

struct ProjectCard {
    id: i64,
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
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    nav: Option<Nav>,
    csrf: String,
    projects: Vec<ProjectCard>,
    error: Option<String>,
    /// Which project the error is about (0: the new-project form).
    error_project: i64,
    name: String,
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    error: Option<(i64, String)>,
    name: String,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(req, session, state).await?;
    let base_url = state
        .config
        .public_base_url(req.app_config().local_addr().into());
    let mut projects = Vec::new();
    let now_minute = crate::store::now_ms() / 60_000;
    let usage = state.store.project_usage().await?;
    for (project, keys) in state.store.list_projects().await? {
        let used = usage
            .iter()
            .find(|u| u.project_id == project.id)
            .cloned()
            .unwrap_or_default();
        let (stacktrace_rules, fingerprint_rules) = state.store.grouping_rules(project.id).await?;
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
        None => (0, None),
    };
    let mut response = page(&ProjectsPage {
        nav: Some(Nav::new(&who, "projects")),
        csrf: who.csrf.clone(),
        projects,
        error,
        error_project,
        name,
    })?;
    if failed {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

async fn projects(
    req: HttpRequest,
    state: web::Data<AppState>,
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
    state: web::Data<AppState>,
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
            render(&req, &state, &session, Some((0, e)), form.name.clone()).await
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
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
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
        return render(&req, &state, &session, Some((id, e)), String::new()).await;
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
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
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
        Err(e) => render(&req, &state, &session, Some((id, e)), String::new()).await,
    }
}
