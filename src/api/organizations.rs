//! The organization: one per installation, its slug from the configuration (`org_slug`).
//!
//! ```text
//! GET /api/0/organizations/          [organization]
//! GET /api/0/organizations/{org}/    organization
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::ApiState;
use super::access::{authorize, authorized_org, projects_with_keys};
use super::{Answer, base_url, shapes};
use crate::store::tokens::Scope;

pub async fn organizations(req: HttpRequest, state: web::Data<ApiState>) -> Answer {
    authorize(&req, &state, Scope::OrgRead).await?;
    let created = projects_with_keys(&state)
        .await?
        .iter()
        .map(|(p, _)| p.created_at)
        .min()
        .unwrap_or(0);
    let org = shapes::organization(&state.config.org_slug, created, &base_url(&req, &state));
    Ok(HttpResponse::Ok().json(json!([org])))
}

pub async fn organization(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::OrgRead).await?;
    let created = projects_with_keys(&state)
        .await?
        .iter()
        .map(|(p, _)| p.created_at)
        .min()
        .unwrap_or(0);
    Ok(HttpResponse::Ok().json(shapes::organization(
        &state.config.org_slug,
        created,
        &base_url(&req, &state),
    )))
}
