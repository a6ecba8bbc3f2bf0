//! The success and error responses each operation keeps.

use serde_json::{Map, Value, json};

use super::Responses;

/// `responses`: the one success response becomes `success` and the error responses `errors`
/// (all the shared error response), because beside `default` progenitor emits an unreachable
/// pattern or panics; any other code upstream is an error.
pub(super) fn rewrite_responses(
    o: &mut Map<String, Value>,
    r: &Responses,
    name: &str,
    with_body: bool,
    components: &Map<String, Value>,
) -> Result<(), String> {
    let responses = o
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("adjustment {name}: the operation has no responses"))?;
    let error_ref = format!("#/components/responses/{}", r.error_response);
    let mut success: Option<&Value> = None;
    let mut has_error = false;
    for (code, resp) in responses {
        if r.success_from.contains(code) {
            if success.is_some() {
                return Err(format!(
                    "adjustment responses ({name}): more than one success response"
                ));
            }
            let resp = match resp.get("$ref").and_then(Value::as_str) {
                Some(target) => target
                    .strip_prefix("#/components/responses/")
                    .and_then(|n| components.get("responses")?.get(n))
                    .ok_or_else(|| {
                        format!("adjustment responses ({name}): success response {code} refers to '{target}', which is not a response in the slice")
                    })?,
                None => resp,
            };
            let has_body = resp.get("content").is_some();
            if has_body && !with_body {
                return Err(format!(
                    "adjustment responses ({name}): success response {code} now has a body; the crate expects none"
                ));
            }
            if with_body && resp.pointer("/content/application~1json/schema").is_none() {
                return Err(format!(
                    "adjustment responses ({name}): success response {code} has no application/json body; the crate expects one"
                ));
            }
            success = Some(resp);
        } else if r.errors_from.contains(code) {
            if resp.get("$ref").and_then(Value::as_str) != Some(error_ref.as_str()) {
                return Err(format!(
                    "adjustment responses ({name}): response {code} no longer refers to '{error_ref}'"
                ));
            }
            has_error = true;
        } else {
            return Err(format!(
                "adjustment responses ({name}): unexpected response code '{code}' upstream"
            ));
        }
    }
    let success = success.ok_or_else(|| {
        format!(
            "adjustment responses ({name}): no success response (one of {:?})",
            r.success_from
        )
    })?;
    if !has_error {
        return Err(format!(
            "adjustment responses ({name}): no error response (one of {:?})",
            r.errors_from
        ));
    }
    let mut out = Map::new();
    let desc = success
        .get("description")
        .cloned()
        .unwrap_or(Value::String("Success".into()));
    let mut ok = json!({ "description": desc });
    if with_body {
        let schema = success["content"]["application/json"]["schema"].clone();
        ok["content"] = json!({ "application/json": { "schema": schema } });
    }
    out.insert(r.success.clone(), ok);
    for code in &r.errors {
        out.insert(code.clone(), json!({ "$ref": error_ref }));
    }
    o.insert("responses".into(), Value::Object(out));
    Ok(())
}
