//! Teams and members. Snag has one team, `everyone`: every user is in it and it holds every
//! project (what Sentry's tools need to list projects by team and people to assign).
//!
//! ```text
//! GET /api/0/organizations/{org}/teams/            [team with its projects]
//! GET /api/0/teams/{org}/everyone/                 team
//! GET /api/0/teams/{org}/everyone/projects/        [project]
//! GET /api/0/organizations/{org}/members/          [member: {"id", "email", "role", "user"}]
//! GET /api/0/organizations/{org}/repos/            [] (Snag keeps no repositories)
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access::{authorize, authorized_org, check_org, projects_with_keys};
use super::{Answer, ApiError, ApiState, shapes};
use crate::store::tokens::Scope;

/// The one team's slug.
pub const TEAM: &str = "everyone";

/// The team, with every project when `with_projects`.
async fn team(state: &ApiState, with_projects: bool) -> Result<Value, ApiError> {
    let projects = projects_with_keys(state).await?;
    let members = state.store.list_users().await?.len();
    let created = projects
        .iter()
        .map(|(p, _)| p.created_at)
        .min()
        .unwrap_or(0);
    let mut team = json!({
        "id": "1", "slug": TEAM, "name": TEAM, "dateCreated": shapes::iso(created),
        "isMember": true, "hasAccess": true, "isPending": false, "memberCount": members,
        "teamRole": null, "flags": {"idp:provisioned": false}, "access": [],
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": null},
    });
    if with_projects {
        team["projects"] = projects
            .iter()
            .map(|(p, _)| shapes::project(p, None))
            .collect();
    }
    Ok(team)
}

/// `{org}/{team}` must name the organization and its one team.
fn check_team(state: &ApiState, org: &str, slug: &str) -> Result<(), ApiError> {
    check_org(state, org)?;
    if slug == TEAM {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

pub async fn teams(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::OrgRead).await?;
    Ok(HttpResponse::Ok().json(json!([team(&state, true).await?])))
}

pub async fn team_detail(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, Scope::OrgRead).await?;
    check_team(&state, &path.0, &path.1)?;
    Ok(HttpResponse::Ok().json(team(&state, false).await?))
}

pub async fn team_projects(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, Scope::ProjectRead).await?;
    check_team(&state, &path.0, &path.1)?;
    Ok(HttpResponse::Ok().json(team(&state, true).await?["projects"].take()))
}

pub async fn members(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::OrgRead).await?;
    let members: Vec<Value> = state
        .store
        .list_users()
        .await?
        .iter()
        .map(|u| {
            let role = if u.is_admin { "owner" } else { "member" };
            json!({"id": u.id.to_string(), "email": u.email, "name": u.email, "role": role,
                   "orgRole": role, "roleName": role, "pending": false, "expired": false,
                   "teams": [TEAM], "user": shapes::account(u)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(members))
}

pub async fn repos(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::OrgRead).await?;
    Ok(HttpResponse::Ok().json(json!([])))
}
