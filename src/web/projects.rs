//! Projects: their DSNs with a how-to-connect snippet, creating one, and grouping rules.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::{check_csrf, signed_in};
use super::issues::Nav;
use super::{WebError, page, see_other};
use crate::app::{AppState, dsn};
use crate::grouping::ProjectRules;
use crate::store::StoreError;
use crate::store::projects::NewProject;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/projects", web::get().to(projects))
        .route("/projects", web::post().to(create))
        .route("/projects/{id}/rules", web::post().to(rules));
}

struct ProjectCard {
    id: i64,
    name: String,
    dsns: Vec<String>,
    stacktrace_rules: String,
    fingerprint_rules: String,
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
    for (project, keys) in state.store.list_projects().await? {
        let (stacktrace_rules, fingerprint_rules) = state.store.grouping_rules(project.id).await?;
        projects.push(ProjectCard {
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
    signed_in(&req, &session, &state).await?;
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
    signed_in(&req, &session, &state).await?;
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
