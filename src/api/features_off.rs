//! Sentry features Snag does not have, answered as Sentry answers an organization that has
//! them turned off, so a client says why instead of "not found".
//!
//! ```text
//! GET|POST /api/0/organizations/{org}/issues/{id}/autofix/   (Seer; `sentry issue explain`)
//! → 403 {"detail": "AI Autofix is not enabled for this organization."}
//! ```
//! Dashboards, traces and replays answer 404, as Sentry does without those features.

use actix_web::{HttpRequest, web};

use super::access::{IssuePath, authorized_issue};
use super::{Answer, ApiError, ApiState};
use crate::store::tokens::Scope;

/// Seer's root-cause analysis of an issue (the issue must exist and be readable first).
pub async fn autofix(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
) -> Answer {
    authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    Err(ApiError::FeatureOff(
        "AI Autofix is not enabled for this organization.",
    ))
}
