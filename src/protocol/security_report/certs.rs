//! Certificate reports: HPKP (RFC 7469 §3), Expect-CT and Expect-Staple, as the last Relay
//! versions that took them made them (browsers no longer send them; old ones may).
//!
//! ```text
//! HPKP          {"hostname": "shop.example", "port": 443, "known-pins": […], …}
//!   → "Public key pinning validation failed for 'shop.example'", tags hostname, port,
//!     include-subdomains; no culprit (Sentry then shows the request URL, the hostname)
//! Expect-CT     {"expect-ct-report": {"hostname": "shop.example", "scts": […], …}}
//!   → "Expect-CT failed for 'shop.example'", culprit the hostname, tags hostname, port
//! Expect-Staple {"expect-staple-report": {"hostname": …, "response-status": "ERROR_RESPONSE", …}}
//!   → "Expect-Staple failed for 'shop.example'", tags hostname, port, response_status, cert_status
//! ```

use serde_json::{Map, Value, json};

use super::{Parts, ReportError, field, string_field};

pub(super) fn hpkp(raw: &Map<String, Value>) -> Result<Parts, ReportError> {
    let Certificate {
        hostname,
        port,
        mut interface,
    } = certificate_fields(raw)?;
    let include_subdomains = boolean(raw, "include-subdomains")?;
    let known_pins =
        strings(raw, "known-pins")?.ok_or_else(|| ReportError::invalid("known-pins is missing"))?;
    put(
        &mut interface,
        "include_subdomains",
        include_subdomains.map(Value::from),
    );
    put(
        &mut interface,
        "noted_hostname",
        string_field(raw, &["noted-hostname"])?.map(Value::from),
    );
    for key in ["served-certificate-chain", "validated-certificate-chain"] {
        put(&mut interface, &key.replace('-', "_"), strings(raw, key)?);
    }
    interface.insert("known_pins".into(), known_pins);
    const KNOWN: [&str; 9] = [
        "date-time",
        "hostname",
        "port",
        "effective-expiration-date",
        "include-subdomains",
        "noted-hostname",
        "served-certificate-chain",
        "validated-certificate-chain",
        "known-pins",
    ];
    for (key, value) in raw {
        if !KNOWN.contains(&key.as_str()) {
            interface.insert(key.clone(), value.clone());
        }
    }
    let mut tags = vec![("hostname", hostname.clone())];
    tags.extend(port.map(|p| ("port", p.to_string())));
    tags.extend(include_subdomains.map(|i| ("include-subdomains", i.to_string())));
    Ok(Parts {
        message: format!("Public key pinning validation failed for '{hostname}'"),
        culprit: None,
        tags,
        url: Some(hostname),
        referrer: None,
        interface,
    })
}

pub(super) fn expect_ct(raw: &Map<String, Value>) -> Result<Parts, ReportError> {
    let Certificate {
        hostname,
        port,
        mut interface,
    } = certificate_fields(raw)?;
    put(
        &mut interface,
        "scheme",
        string_field(raw, &["scheme"])?.map(Value::from),
    );
    for key in ["served-certificate-chain", "validated-certificate-chain"] {
        put(&mut interface, &key.replace('-', "_"), strings(raw, key)?);
    }
    put(&mut interface, "scts", scts(raw)?);
    put(
        &mut interface,
        "failure_mode",
        string_field(raw, &["failure-mode"])?.map(Value::from),
    );
    put(
        &mut interface,
        "test_report",
        boolean(raw, "test-report")?.map(Value::from),
    );
    let mut tags = vec![("hostname", hostname.clone())];
    tags.extend(port.map(|p| ("port", p.to_string())));
    Ok(Parts {
        message: format!("Expect-CT failed for '{hostname}'"),
        culprit: Some(hostname.clone()),
        tags,
        url: Some(hostname),
        referrer: None,
        interface,
    })
}

pub(super) fn expect_staple(raw: &Map<String, Value>) -> Result<Parts, ReportError> {
    const RESPONSE_STATUSES: [&str; 8] = [
        "MISSING",
        "PROVIDED",
        "ERROR_RESPONSE",
        "BAD_PRODUCED_AT",
        "NO_MATCHING_RESPONSE",
        "INVALID_DATE",
        "PARSE_RESPONSE_ERROR",
        "PARSE_RESPONSE_DATA_ERROR",
    ];
    let Certificate {
        hostname,
        port,
        mut interface,
    } = certificate_fields(raw)?;
    let response_status = one_of(raw, "response-status", &RESPONSE_STATUSES)?;
    let cert_status = one_of(raw, "cert-status", &["GOOD", "REVOKED", "UNKNOWN"])?;
    put(
        &mut interface,
        "response_status",
        response_status.clone().map(Value::from),
    );
    put(
        &mut interface,
        "cert_status",
        cert_status.clone().map(Value::from),
    );
    for key in ["served-certificate-chain", "validated-certificate-chain"] {
        put(&mut interface, &key.replace('-', "_"), strings(raw, key)?);
    }
    put(
        &mut interface,
        "ocsp_response",
        field(raw, &["ocsp-response"]).cloned(),
    );
    let mut tags = vec![("hostname", hostname.clone())];
    tags.extend(port.map(|p| ("port", p.to_string())));
    tags.extend(response_status.map(|s| ("response_status", s)));
    tags.extend(cert_status.map(|s| ("cert_status", s)));
    Ok(Parts {
        message: format!("Expect-Staple failed for '{hostname}'"),
        culprit: Some(hostname.clone()),
        tags,
        url: Some(hostname),
        referrer: None,
        interface,
    })
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

/// What every certificate report says (its time, host, port and the policy's expiry) as the
/// start of its interface; the host and port also for the title and tags.
struct Certificate {
    hostname: String,
    port: Option<i64>,
    interface: Map<String, Value>,
}

fn certificate_fields(raw: &Map<String, Value>) -> Result<Certificate, ReportError> {
    let hostname = hostname(raw)?;
    let port = port(raw)?;
    let mut interface = Map::new();
    put(&mut interface, "date_time", date(raw, "date-time")?);
    interface.insert("hostname".into(), json!(hostname));
    put(&mut interface, "port", port.map(Value::from));
    put(
        &mut interface,
        "effective_expiration_date",
        date(raw, "effective-expiration-date")?,
    );
    Ok(Certificate {
        hostname,
        port,
        interface,
    })
}

fn hostname(raw: &Map<String, Value>) -> Result<String, ReportError> {
    string_field(raw, &["hostname"])?.ok_or_else(|| ReportError::invalid("hostname is missing"))
}

fn port(raw: &Map<String, Value>) -> Result<Option<i64>, ReportError> {
    match field(raw, &["port"]) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ReportError::invalid(format!("port: expected an integer, got {v}"))),
    }
}

fn boolean(raw: &Map<String, Value>, key: &str) -> Result<Option<bool>, ReportError> {
    match field(raw, &[key]) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(ReportError::invalid(format!(
            "{key}: expected a boolean, got {v}"
        ))),
    }
}

/// A date-time in RFC 3339, written back in UTC as Relay does.
fn date(raw: &Map<String, Value>, key: &str) -> Result<Option<Value>, ReportError> {
    let Some(text) = string_field(raw, &[key])? else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(&text)
        .map_err(|e| ReportError::invalid(format!("{key}: {e}")))?;
    Ok(Some(json!(parsed.with_timezone(&chrono::Utc).to_rfc3339())))
}

fn strings(raw: &Map<String, Value>, key: &str) -> Result<Option<Value>, ReportError> {
    match field(raw, &[key]) {
        None => Ok(None),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            Ok(Some(Value::Array(list.clone())))
        }
        Some(v) => Err(ReportError::invalid(format!(
            "{key}: expected a list of strings, got {v}"
        ))),
    }
}

fn one_of(
    raw: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<String>, ReportError> {
    match string_field(raw, &[key])? {
        Some(s) if !allowed.contains(&s.as_str()) => {
            Err(ReportError::invalid(format!("{key}: unknown value {s:?}")))
        }
        other => Ok(other),
    }
}

/// Signed certificate timestamps: `version`, `status` (valid, invalid, unknown), `source`
/// (tls-extension, ocsp, embedded), `serialized_sct` (snake_case in the draft).
fn scts(raw: &Map<String, Value>) -> Result<Option<Value>, ReportError> {
    let Some(list) = field(raw, &["scts"]) else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| ReportError::invalid("scts: expected a list"))?;
    let mut out = Vec::with_capacity(list.len());
    for sct in list {
        let sct = sct
            .as_object()
            .ok_or_else(|| ReportError::invalid("scts: expected objects"))?;
        let mut item = Map::new();
        put(&mut item, "version", field(sct, &["version"]).cloned());
        put(
            &mut item,
            "status",
            one_of(sct, "status", &["unknown", "valid", "invalid"])?.map(Value::from),
        );
        put(
            &mut item,
            "source",
            one_of(sct, "source", &["tls-extension", "ocsp", "embedded"])?.map(Value::from),
        );
        put(
            &mut item,
            "serialized_sct",
            string_field(sct, &["serialized_sct"])?.map(Value::from),
        );
        out.push(Value::Object(item));
    }
    Ok(Some(Value::Array(out)))
}
