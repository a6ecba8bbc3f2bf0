//! Request checks derived from `spec/openapi.json`, so the stand-in moves with the spec.

use std::sync::LazyLock;

use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use super::Reply;

/// The path prefix of Graph's beta endpoint.
pub(super) const BASE_PATH: &str = "/beta";

const SPEC: &str = include_str!("../../spec/openapi.json");

/// An operation a request matched, and the device it targets (none for the device list).
#[derive(Debug)]
pub(super) struct Operation {
    pub(super) id: String,
    pub(super) device_id: Option<String>,
}

pub(super) enum SpecCheck {
    Valid(Operation),
    /// Refused, with the answer Graph would give; the operation when the path matched.
    Invalid(Option<Operation>, Reply),
}

struct Route {
    method: String,
    segments: Vec<Segment>,
    operation_id: String,
    takes_body: bool,
}

enum Segment {
    Literal(String),
    Param,
}

struct Spec {
    routes: Vec<Route>,
    body_properties: Vec<String>,
}

static PARSED: LazyLock<Spec> = LazyLock::new(|| {
    let doc: serde_json::Value =
        serde_json::from_str(SPEC).expect("spec/openapi.json is checked by build.rs");
    // The routes are the generated table's rows (codegen.rs): no path or id is written here.
    let routes = autopilot_resource_account::generated::operations::OPERATIONS
        .iter()
        .map(|op| Route {
            method: op.method.to_owned(),
            segments: op
                .path
                .split('/')
                .skip(1)
                .map(|s| match s.starts_with('{') && s.ends_with('}') {
                    true => Segment::Param,
                    false => Segment::Literal(s.to_owned()),
                })
                .collect(),
            operation_id: op.id.to_owned(),
            takes_body: doc["paths"][op.path][op.method.to_ascii_lowercase()]
                .get("requestBody")
                .is_some(),
        })
        .collect();
    let body_properties = doc["components"]["schemas"]["ResourceAccountAssignment"]["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    Spec {
        routes,
        body_properties,
    }
});

pub(super) fn check(
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
    too_large: bool,
) -> SpecCheck {
    let Some(path) = target
        .split('?')
        .next()
        .and_then(|p| p.strip_prefix(BASE_PATH))
    else {
        return not_found(target);
    };
    let Some((operation, takes_body, allowed)) = route(method, path) else {
        return not_found(target);
    };
    let refuse = |status: u16, code: &str, message: String| {
        let op = Operation {
            id: operation.id.clone(),
            device_id: operation.device_id.clone(),
        };
        SpecCheck::Invalid(Some(op), Reply::status(status).odata(code, &message))
    };
    if let Some(allowed) = allowed {
        return refuse(
            405,
            "BadRequest",
            format!("{method} is not allowed; the resource takes {allowed}"),
        );
    }
    let bearer = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !bearer.is_some_and(|v| v.starts_with("Bearer ") && v.len() > "Bearer ".len()) {
        return refuse(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.".into(),
        );
    }
    if !takes_body {
        if too_large || !body.is_empty() {
            return refuse(400, "BadRequest", "The operation takes no body".into());
        }
        return SpecCheck::Valid(operation);
    }
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return refuse(
            415,
            "BadRequest",
            "Content-Type must be application/json".into(),
        );
    }
    if too_large {
        return refuse(413, "BadRequest", "Request body too large".into());
    }
    if let Err(why) = check_body(body) {
        return refuse(400, "BadRequest", why);
    }
    SpecCheck::Valid(operation)
}

/// The operation at `path` for `method`, whether it takes a body, and when the path matched
/// but not the method, the methods it allows.
fn route(method: &str, path: &str) -> Option<(Operation, bool, Option<String>)> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut allowed = Vec::new();
    for route in &PARSED.routes {
        if route.segments.len() != segments.len() {
            continue;
        }
        let mut last_param = None;
        let matched = route
            .segments
            .iter()
            .zip(&segments)
            .all(|(expected, got)| match expected {
                Segment::Literal(literal) => literal == got,
                Segment::Param if got.is_empty() => false,
                Segment::Param => {
                    last_param = Some(*got);
                    true
                }
            });
        if !matched {
            continue;
        }
        let device_id = last_param.map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        });
        let operation = Operation {
            id: route.operation_id.clone(),
            device_id,
        };
        if route.method == method {
            return Some((operation, route.takes_body, None));
        }
        allowed.push((operation, route.method.clone()));
    }
    let methods = allowed
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    allowed
        .into_iter()
        .next()
        .map(|(operation, _)| (operation, false, Some(methods)))
}

fn check_body(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("Body is not valid JSON: {e}"))?;
    let object = value.as_object().ok_or("Body must be a JSON object")?;
    for (key, value) in object {
        if !PARSED.body_properties.iter().any(|p| p == key) {
            return Err(format!(
                "Property '{key}' does not exist on the action's parameters"
            ));
        }
        if !(value.is_string() || value.is_null()) {
            return Err(format!("Property '{key}' must be a string or null"));
        }
    }
    Ok(())
}

fn not_found(target: &str) -> SpecCheck {
    SpecCheck::Invalid(
        None,
        Reply::status(404).odata(
            "BadRequest",
            &format!("Resource not found for the segment in '{target}'."),
        ),
    )
}
