//! The Releases page: every release, newest first, with its projects, when it was made,
//! finalized and last deployed, its events' span, and the issues first seen in it (a link to
//! the issue list searching `first-release:VERSION`).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::WebState;
use super::auth::signed_in;
use super::format;
use super::issues::Nav;
use super::{WebError, page};
use crate::format::{url_encode, utc};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/releases", web::get().to(list));
}

struct ReleaseRow {
    version: String,
    projects: String,
    created: String,
    created_utc: String,
    finalized: String,
    last_event: String,
    last_deploy: String,
    new_issues: i64,
    archived: bool,
    /// The issue list of the issues first seen in it.
    issues_url: String,
}

#[derive(Template)]
#[template(path = "releases.html")]
struct ReleasesPage {
    nav: Option<Nav>,
    releases: Vec<ReleaseRow>,
}

/// Releases shown on the page (the newest).
const SHOWN: i64 = 200;

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    let now = crate::store::now_ms();
    let store = &state.store;
    let mut releases = store.list_releases(None, None, false, SHOWN, 0).await?;
    releases.extend(store.list_releases(None, None, true, SHOWN, 0).await?);
    let mut rows = Vec::with_capacity(releases.len());
    for r in releases {
        let projects: Vec<String> = store
            .release_projects(r.id)
            .await?
            .into_iter()
            .map(|(_, slug)| slug)
            .collect();
        let last_deploy = store
            .deploys(r.id)
            .await?
            .first()
            .map(|d| format!("{} · {}", d.environment, format::ago(d.date_finished, now)));
        let query = format!("is:all first-release:\"{}\"", r.version);
        rows.push(ReleaseRow {
            issues_url: format!("/issues?query={}", url_encode(&query)),
            projects: projects.join(", "),
            created: format::ago(r.date_created, now),
            created_utc: utc(r.date_created),
            finalized: r
                .date_released
                .map(|t| format::ago(t, now))
                .unwrap_or_else(|| "not yet".into()),
            last_event: r
                .last_event
                .map(|t| format::ago(t, now))
                .unwrap_or_else(|| "none".into()),
            last_deploy: last_deploy.unwrap_or_else(|| "none".into()),
            new_issues: r.new_issues,
            archived: r.status == "archived",
            version: r.version,
        });
    }
    page(&ReleasesPage {
        nav: Some(Nav::new(&who, "releases")),
        releases: rows,
    })
}
