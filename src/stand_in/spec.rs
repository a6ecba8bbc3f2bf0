//! Request checks derived from `spec/openapi.json`, so the stand-in moves with the spec.

use std::sync::LazyLock;

use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use super::Reply;

/// The path prefix of Graph's beta endpoint.
pub(super) const BASE_PATH: &str = "/beta";

const SPEC: &str = include_str!("../../spec/openapi.json");

/// An operation a request matched, and the device it targets.
#[derive(Debug)]
pub(super) struct Operation {
    pub(super) id: String,
    pub(super) device_id: String,
}

pub(super) enum SpecCheck {
    Valid(Operation),
    /// Refused, with the answer Graph would give; the operation when the path matched.
    Invalid(Option<Operation>, Reply),
}

struct Route {
    segments: Vec<Segment>,
    operation_id: String,
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
    let routes = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(path, item)| {
            let operation_id = item["post"]["operationId"].as_str()?;
            let segments = path
                .split('/')
                .skip(1)
                .map(|s| match s.starts_with('{') && s.ends_with('}') {
                    true => Segment::Param,
                    false => Segment::Literal(s.to_owned()),
                })
                .collect();
            Some(Route {
                segments,
                operation_id: operation_id.to_owned(),
            })
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
    let Some(operation) = route(path) else {
        return not_found(target);
    };
    let refuse = |status: u16, code: &str, message: String| {
        let op = Operation {
            id: operation.id.clone(),
            device_id: operation.device_id.clone(),
        };
        SpecCheck::Invalid(Some(op), Reply::status(status).odata(code, &message))
    };
    if method != "POST" {
        return refuse(
            405,
            "BadRequest",
            format!("{method} is not allowed; the action takes POST"),
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

fn route(path: &str) -> Option<Operation> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    PARSED.routes.iter().find_map(|route| {
        if route.segments.len() != segments.len() {
            return None;
        }
        let mut last_param = None;
        for (expected, got) in route.segments.iter().zip(&segments) {
            match expected {
                Segment::Literal(literal) if literal != got => return None,
                Segment::Literal(_) => {}
                Segment::Param if got.is_empty() => return None,
                Segment::Param => last_param = Some(*got),
            }
        }
        let device_id = percent_encoding::percent_decode_str(last_param?)
            .decode_utf8_lossy()
            .into_owned();
        Some(Operation {
            id: route.operation_id.clone(),
            device_id,
        })
    })
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
