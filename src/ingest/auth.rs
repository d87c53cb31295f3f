//! Where an SDK puts its DSN key, in Relay's order:
//!
//! ```text
//! X-Sentry-Auth: Sentry sentry_key=<key>, sentry_version=7, sentry_client=sentry.python/2.75.0
//! Authorization: Sentry sentry_key=<key>, …      Authorization: Basic base64(<key>:<secret>)
//! ?sentry_key=<key>&sentry_version=7             (JavaScript SDKs)
//! {"dsn":"http://<key>@host/<project>", …}       (first envelope line; browser tunnel)
//! ```
//! The same key given in several places is fine; different keys are refused.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine;

use crate::ingest::error::IngestError;
use crate::store::ProjectId;

/// Highest `sentry_version` accepted (as Relay).
const MAX_PROTOCOL_VERSION: u32 = 8;

/// The public key the request authenticates with, if it names one outside the body.
pub fn request_key(req: &HttpRequest) -> Result<Option<String>, IngestError> {
    let mut keys: Vec<String> = Vec::new();
    if let Some(value) = req.headers().get("x-sentry-auth") {
        let value = value
            .to_str()
            .map_err(|_| IngestError::BadAuth("not ASCII".into()))?;
        keys.push(parse_sentry_auth(value)?);
    }
    if let Some(value) = req.headers().get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| IngestError::BadAuth("not ASCII".into()))?;
        if let Some(key) = parse_authorization(value)? {
            keys.push(key);
        }
    }
    if req.query_string().contains("sentry_") {
        let query = actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|e| IngestError::BadAuth(format!("bad query string: {e}")))?;
        check_version(
            query
                .iter()
                .find(|(k, _)| k == "sentry_version")
                .map(|(_, v)| v.as_str()),
        )?;
        if let Some((_, key)) = query.iter().find(|(k, _)| k == "sentry_key") {
            keys.push(key.clone());
        }
    }
    keys.dedup();
    match keys.len() {
        0 => Ok(None),
        1 => Ok(keys.pop()),
        _ => Err(IngestError::MultipleAuth),
    }
}

/// `Sentry sentry_key=…, sentry_version=…` → the key.
pub fn parse_sentry_auth(value: &str) -> Result<String, IngestError> {
    let rest = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sentry "))
        .map(|_| &value[7..])
        .ok_or_else(|| IngestError::BadAuth("expected 'Sentry key=value, …'".into()))?;
    let mut key = None;
    let mut version = None;
    for pair in rest.split(',') {
        let Some((name, val)) = pair.split_once('=') else {
            continue;
        };
        match name.trim() {
            "sentry_key" => key = Some(val.trim().to_owned()),
            "sentry_version" => version = Some(val.trim().to_owned()),
            _ => {}
        }
    }
    check_version(version.as_deref())?;
    key.filter(|k| !k.is_empty())
        .ok_or_else(|| IngestError::BadAuth("missing sentry_key".into()))
}

/// `Authorization: Sentry …` or `Authorization: Basic …`; other schemes are not ours.
fn parse_authorization(value: &str) -> Result<Option<String>, IngestError> {
    if value.len() >= 7 && value[..7].eq_ignore_ascii_case("sentry ") {
        return parse_sentry_auth(value).map(Some);
    }
    if value.len() >= 6 && value[..6].eq_ignore_ascii_case("basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value[6..].trim())
            .map_err(|_| IngestError::BadAuth("invalid basic auth".into()))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| IngestError::BadAuth("invalid basic auth".into()))?;
        let key = decoded.split(':').next().unwrap_or_default().trim();
        if key.is_empty() {
            return Err(IngestError::BadAuth("missing key in basic auth".into()));
        }
        return Ok(Some(key.to_owned()));
    }
    Ok(None)
}

/// `sentry_version` is the integer before the first `.`; absent means 7.
fn check_version(version: Option<&str>) -> Result<(), IngestError> {
    let Some(version) = version else {
        return Ok(());
    };
    let major = version.split('.').next().unwrap_or_default().trim();
    match major.parse::<u32>() {
        Ok(v) if v > MAX_PROTOCOL_VERSION => Err(IngestError::UnsupportedVersion(v)),
        Ok(_) => Ok(()),
        Err(_) => Err(IngestError::BadAuth(format!(
            "invalid sentry_version {version:?}"
        ))),
    }
}

/// The parts of a DSN the ingest needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Dsn {
    pub public_key: String,
    pub project_id: ProjectId,
}

/// `{scheme}://{key}[:{secret}]@{host}[:{port}][/{prefix}]/{project_id}`.
pub fn parse_dsn(dsn: &str) -> Result<Dsn, IngestError> {
    let bad = |why: &str| IngestError::BadAuth(format!("invalid dsn: {why}"));
    let (_, rest) = dsn.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let (userinfo, location) = rest.split_once('@').ok_or_else(|| bad("no public key"))?;
    let public_key = userinfo.split(':').next().unwrap_or_default();
    if public_key.is_empty() {
        return Err(bad("no public key"));
    }
    let path = location.split_once('/').map(|(_, p)| p).unwrap_or_default();
    let project = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let project_id = project
        .parse::<ProjectId>()
        .map_err(|_| bad("no project id"))?;
    Ok(Dsn {
        public_key: public_key.to_owned(),
        project_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn sentry_auth_header_variants() {
        let python =
            "Sentry sentry_key=publickey, sentry_version=7, sentry_client=sentry.python/2.75.0";
        assert_eq!(parse_sentry_auth(python).unwrap(), "publickey");
        let raven = "Sentry sentry_timestamp=1795312686.8, sentry_client=raven-python/6.10.0, sentry_version=6, sentry_key=publickey, sentry_secret=secretkey";
        assert_eq!(parse_sentry_auth(raven).unwrap(), "publickey");
        assert_eq!(parse_sentry_auth("sentry sentry_key=k").unwrap(), "k");
        assert!(matches!(
            parse_sentry_auth("Bearer x"),
            Err(IngestError::BadAuth(_))
        ));
        assert!(matches!(
            parse_sentry_auth("Sentry sentry_version=7"),
            Err(IngestError::BadAuth(_))
        ));
        assert!(matches!(
            parse_sentry_auth("Sentry sentry_key=k, sentry_version=9"),
            Err(IngestError::UnsupportedVersion(9))
        ));
    }

    #[test]
    fn keys_from_every_place() {
        let req = TestRequest::default()
            .insert_header(("X-Sentry-Auth", "Sentry sentry_key=abc"))
            .to_http_request();
        assert_eq!(request_key(&req).unwrap().as_deref(), Some("abc"));
        let req = TestRequest::default()
            .insert_header(("Authorization", "Basic YWJjOnNlY3JldA=="))
            .to_http_request();
        assert_eq!(request_key(&req).unwrap().as_deref(), Some("abc"));
        let req = TestRequest::with_uri("/api/1/envelope/?sentry_version=7&sentry_key=abc&sentry_client=sentry.javascript.node%2F11.12.0")
            .to_http_request();
        assert_eq!(request_key(&req).unwrap().as_deref(), Some("abc"));
        let req = TestRequest::default().to_http_request();
        assert_eq!(request_key(&req).unwrap(), None);
        let req = TestRequest::with_uri("/x?sentry_key=abc")
            .insert_header(("X-Sentry-Auth", "Sentry sentry_key=abc"))
            .to_http_request();
        assert_eq!(request_key(&req).unwrap().as_deref(), Some("abc"));
        let req = TestRequest::with_uri("/x?sentry_key=other")
            .insert_header(("X-Sentry-Auth", "Sentry sentry_key=abc"))
            .to_http_request();
        assert!(matches!(request_key(&req), Err(IngestError::MultipleAuth)));
        let req = TestRequest::default()
            .insert_header(("Authorization", "Bearer token"))
            .to_http_request();
        assert_eq!(request_key(&req).unwrap(), None);
    }

    #[test]
    fn dsns() {
        assert_eq!(
            parse_dsn("http://publickey@127.0.0.1:8993/1").unwrap(),
            Dsn {
                public_key: "publickey".into(),
                project_id: ProjectId(1)
            }
        );
        assert_eq!(
            parse_dsn("http://publickey:secretkey@127.0.0.1:8987/sentry/prefix/42").unwrap(),
            Dsn {
                public_key: "publickey".into(),
                project_id: ProjectId(42)
            }
        );
        assert_eq!(
            parse_dsn("http://publickey:@host/7/").unwrap().project_id,
            ProjectId(7)
        );
        assert!(parse_dsn("http://host/1").is_err());
        assert!(parse_dsn("nonsense").is_err());
        assert!(parse_dsn("http://k@host/abc").is_err());
    }
}
