//! Sentry's own grouping cases: every input of `$SNAG_GROUPING_FIXTURES/expected.json` must
//! give the same (variant, hash) pairs as Sentry's `newstyle:2023-01-11`.
//!
//! The cases are Sentry's test data (FSL): they are read from the folder the variable names
//! (`scripts/test` and `.ci/run` set it to `../shared/fixtures/grouping`) and never copied
//! here. The test is ignored by a plain `cargo test` (it says why); `scripts/test` runs it with
//! `--include-ignored`, and then missing cases fail it. Any mismatch fails, all listed at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::fingerprint_rules::FingerprintRules;
use super::stacktrace_rules::Rules;
use super::{ProjectRules, variants};
use crate::normalize::{Context, normalize};

/// Runs one input through normalization and grouping; `(variant, hash)` pairs, `None` for a
/// variant that is present but does not contribute.
pub fn case_variants(mut input: Value) -> Result<BTreeMap<String, Option<String>>, String> {
    let object = input.as_object_mut().ok_or("the input is not an object")?;
    let enhancements = object.remove("_grouping").and_then(|g| {
        g.get("enhancements")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let fingerprinting = object.remove("_fingerprinting_rules");
    let mut rules = ProjectRules::default();
    if let Some(text) = enhancements {
        let project = Rules::parse(&text).map_err(|e| format!("enhancements: {e}"))?;
        rules.stacktrace = Some(Rules::builtin().extended(&project));
    }
    if let Some(json) = fingerprinting.filter(|f| !f.is_null()) {
        rules.fingerprints =
            Some(FingerprintRules::from_json(&json).map_err(|e| format!("fingerprinting: {e}"))?);
    }
    let ctx = Context {
        envelope_event_id: None,
        received_ms: 1_700_000_000_000,
        client_ip: None,
    };
    let event = normalize(input, &ctx).map_err(|e| e.to_string())?;
    let (variants, _) = variants(&event, &rules);
    Ok(variants
        .0
        .into_iter()
        .map(|(name, v)| (name, v.hash))
        .collect())
}

#[test]
#[ignore = "needs Sentry's grouping cases: SNAG_GROUPING_FIXTURES (scripts/test sets it and runs these)"]
fn sentry_grouping_cases() {
    let folder = std::env::var("SNAG_GROUPING_FIXTURES")
        .expect("SNAG_GROUPING_FIXTURES must name Sentry's grouping cases (scripts/test sets it)");
    let folder = Path::new(&folder);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("expected.json"))
            .unwrap_or_else(|e| panic!("cannot read {}/expected.json: {e}", folder.display())),
    )
    .expect("expected.json is JSON");
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, case) in expected.as_object().expect("an object of cases") {
        let Some(file) = case.get("input").and_then(Value::as_str) else {
            continue;
        };
        count += 1;
        let input: Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join("inputs").join(file))
                .unwrap_or_else(|e| panic!("cannot read input {file}: {e}")),
        )
        .expect("input is JSON");
        let want: BTreeMap<String, Option<String>> =
            serde_json::from_value(case["variants"].clone()).expect("variants map");
        // Only contributing hashes must match exactly; a variant Sentry lists as null may be
        // absent here, and the reverse.
        let contributing = |m: &BTreeMap<String, Option<String>>| -> BTreeMap<String, String> {
            m.iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                .collect()
        };
        match case_variants(input) {
            Ok(got) if contributing(&got) == contributing(&want) => {}
            Ok(got) => failures.push(format!(
                "{name}:\n    want {:?}\n    got  {:?}",
                contributing(&want),
                contributing(&got)
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(count > 0, "no cases found in {}", folder.display());
    assert!(
        failures.is_empty(),
        "{} of {count} Sentry grouping cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
