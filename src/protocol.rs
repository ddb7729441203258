//! The HTTP API's shapes, parsed and validated without any platform code, so that native tests
//! and the worker read requests identically; and the one error type every route answers with.

use crate::engine::snapshot::Problem;
use crate::engine::visitor::{Edge, PageView, Visitor};
use crate::engine::zone::Zone;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Largest decide body accepted, in bytes.
pub const MAX_DECIDE_BODY: usize = 32 * 1024;
/// Largest snapshot accepted, in bytes.
pub const MAX_SNAPSHOT_BODY: usize = 5 * 1024 * 1024;
/// Most visitor attributes one request may carry.
pub const MAX_ATTRIBUTES: usize = 100;
/// Most zones one request may list.
pub const MAX_ZONES: usize = 20;
/// Deepest JSON nesting accepted in visitor attributes.
pub const MAX_ATTRIBUTE_DEPTH: usize = 5;
/// Deepest JSON nesting of a decide body (the attributes' depth plus the body and its map).
pub const MAX_DECIDE_DEPTH: usize = MAX_ATTRIBUTE_DEPTH + 3;
/// Deepest JSON nesting of an events body.
pub const MAX_EVENTS_DEPTH: usize = 4;
/// Deepest JSON nesting of a snapshot (conditions nest; the demo needs 8).
pub const MAX_SNAPSHOT_DEPTH: usize = 32;
/// Deepest JSON nesting of the small admin and brand bodies (availability, call status).
pub const MAX_SMALL_DEPTH: usize = 4;

/// Refuses JSON nested deeper than `max` objects and arrays, before it is parsed (400), so that
/// no route spends time or stack on a hostile body. Counts brackets outside strings; whether
/// the text is JSON at all is the parser's business.
pub fn check_depth(body: &[u8], max: usize) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::invalid(
                        "(body)",
                        format!("JSON nested deeper than {max} levels"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Every error the API answers with: `{"error": {"code", "message", ...}}` and a status.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 `malformed_json`: the body is not JSON of the expected shape.
    MalformedJson(String),
    /// 400 `invalid_request`: a field is missing or has a bad value.
    Invalid {
        /// The field, e.g. `page.url`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 401 `unauthorized`: missing or wrong admin token.
    Unauthorized,
    /// 401 `invalid_token`: a click-to-call token that is not ours or was altered.
    InvalidToken,
    /// 403 `wrong_account`: a click-to-call token signed for another account.
    WrongAccount,
    /// 410 `expired`: the click-to-call APIs no longer answer for this call.
    Expired,
    /// 403 `origin_not_allowed`: the page's origin is not in the account's `allowedOrigins`.
    OriginNotAllowed,
    /// 404 `unknown_account`: no snapshot was ever published for the account.
    UnknownAccount(String),
    /// 404 `not_found`: no such route or resource.
    NotFound(String),
    /// 405 `method_not_allowed`.
    MethodNotAllowed,
    /// 409 `revision_conflict`: the publisher's base revision is not the live one.
    RevisionConflict {
        /// The live revision.
        current: u64,
    },
    /// 413 `body_too_large`.
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// 415 `unsupported_media_type`.
    UnsupportedMediaType,
    /// 422 `invalid_snapshot`: every problem found; the live snapshot is unchanged.
    InvalidSnapshot(Vec<Problem>),
    /// 428 `precondition_required`: publishing needs `If-Match`.
    PreconditionRequired,
    /// 503 `unavailable`: a platform service failed; nothing was changed.
    Unavailable(String),
}

impl ApiError {
    /// Shorthand for [`ApiError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_) | ApiError::Invalid { .. } => 400,
            ApiError::Unauthorized | ApiError::InvalidToken => 401,
            ApiError::WrongAccount | ApiError::OriginNotAllowed => 403,
            ApiError::Expired => 410,
            ApiError::UnknownAccount(_) | ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::RevisionConflict { .. } => 409,
            ApiError::TooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::InvalidSnapshot(_) => 422,
            ApiError::PreconditionRequired => 428,
            ApiError::Unavailable(_) => 503,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidToken => "invalid_token",
            ApiError::WrongAccount => "wrong_account",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::Expired => "expired",
            ApiError::UnknownAccount(_) => "unknown_account",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RevisionConflict { .. } => "revision_conflict",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidSnapshot(_) => "invalid_snapshot",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// The message for people.
    pub fn message(&self) -> String {
        match self {
            ApiError::MalformedJson(m) => format!("request body is not valid: {m}"),
            ApiError::Invalid { field, message } => format!("{field}: {message}"),
            ApiError::Unauthorized => "missing or wrong bearer token".to_string(),
            ApiError::InvalidToken => "the click-to-call token is not valid".to_string(),
            ApiError::WrongAccount => {
                "the click-to-call token belongs to another account".to_string()
            }
            ApiError::Expired => "this call's information has expired (6 hours)".to_string(),
            ApiError::OriginNotAllowed => {
                "this page's origin is not in the account's allowedOrigins".to_string()
            }
            ApiError::UnknownAccount(a) => format!("no snapshot is published for account \"{a}\""),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::MethodNotAllowed => "method not allowed on this route".to_string(),
            ApiError::RevisionConflict { current } => {
                format!("the live revision is {current}; re-read it and publish with If-Match: {current}")
            }
            ApiError::TooLarge { limit } => format!("body larger than {limit} bytes"),
            ApiError::UnsupportedMediaType => "send application/json".to_string(),
            ApiError::InvalidSnapshot(p) => {
                format!(
                    "snapshot refused with {} problem(s); the live snapshot is unchanged",
                    p.len()
                )
            }
            ApiError::PreconditionRequired => {
                "publishing needs If-Match: <live revision> (0 for a first publish, * to overwrite)"
                    .to_string()
            }
            ApiError::Unavailable(m) => format!("temporarily unavailable: {m}"),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.message()));
        match self {
            ApiError::InvalidSnapshot(problems) => error.insert("problems".into(), json!(problems)),
            ApiError::RevisionConflict { current } => {
                error.insert("currentRevision".into(), json!(current))
            }
            ApiError::Invalid { field, .. } => error.insert("field".into(), json!(field)),
            _ => None,
        };
        json!({ "error": error })
    }
}

/// The page as the tag describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageInput {
    /// Absolute http(s) URL of the page.
    pub url: String,
    /// `lpTag.section` values.
    #[serde(default)]
    pub sections: Vec<String>,
    /// `document.referrer`.
    #[serde(default)]
    pub referrer: Option<String>,
    /// The page pushed an authenticated identity.
    #[serde(default)]
    pub authenticated: bool,
    /// Page-view id: re-evaluations of one page view send the same value, a new page view a
    /// new one (zones are held per page view, R-D4). Defaults to the URL without fragment.
    #[serde(default)]
    pub id: Option<String>,
}

/// `POST /v1/decide` body (the GET form carries the same fields as query parameters).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideRequest {
    /// Account id.
    pub account: String,
    /// Visitor id kept by the tag; issued by the worker when absent.
    #[serde(default)]
    pub visitor_id: Option<String>,
    /// Visit (session) id; issued by the worker when absent.
    #[serde(default)]
    pub visit_id: Option<String>,
    /// The page.
    pub page: PageInput,
    /// Zones on the page; default `left`, `right`, `proactive`.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// Visitor attributes for conditions (docs/attributes.md).
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// A request ready for the engine.
#[derive(Debug, Clone)]
pub struct ParsedDecide {
    /// Account id.
    pub account: String,
    /// The visitor on the page.
    pub visitor: Visitor,
    /// Distinct zones, in request order.
    pub zones: Vec<Zone>,
    /// Page-view key for zone holding.
    pub page_id: String,
}

/// True for ids of 1-64 characters of `A-Z a-z 0-9 - _ .`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// [`valid_id`] as a 400 naming `field`.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "ids are 1-64 characters of A-Z a-z 0-9 - _ .",
        ))
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl DecideRequest {
    /// Parses a JSON body (also sent as `text/plain` by beacons).
    pub fn from_json(body: &[u8]) -> Result<DecideRequest, ApiError> {
        if body.len() > MAX_DECIDE_BODY {
            return Err(ApiError::TooLarge {
                limit: MAX_DECIDE_BODY,
            });
        }
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))
    }

    /// Parses the GET form: `account`, `visitorId`, `visitId`, `url`, `sections` (comma
    /// separated), `referrer`, `authenticated` (`1`/`true`), `zones` (comma separated) and
    /// `attributes` (a JSON object).
    pub fn from_query<'a>(
        pairs: impl Iterator<Item = (String, String)> + 'a,
    ) -> Result<DecideRequest, ApiError> {
        let mut q: Map<String, Value> = Map::new();
        let mut total = 0usize;
        for (k, v) in pairs {
            total += k.len() + v.len();
            if total > MAX_DECIDE_BODY {
                return Err(ApiError::TooLarge {
                    limit: MAX_DECIDE_BODY,
                });
            }
            q.insert(k, Value::String(v));
        }
        let text = |k: &str| q.get(k).and_then(Value::as_str).map(str::to_string);
        let required = |k: &str| text(k).ok_or_else(|| ApiError::invalid(k, "is required"));
        let list = |k: &str| {
            text(k).map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
        };
        let attributes = match text("attributes") {
            None => Map::new(),
            Some(s) => serde_json::from_str(&s).map_err(|e| {
                ApiError::invalid("attributes", format!("must be a JSON object: {e}"))
            })?,
        };
        Ok(DecideRequest {
            account: required("account")?,
            visitor_id: text("visitorId"),
            visit_id: text("visitId"),
            page: PageInput {
                url: required("url")?,
                sections: list("sections").unwrap_or_default(),
                referrer: text("referrer"),
                authenticated: matches!(text("authenticated").as_deref(), Some("1" | "true")),
                id: text("pageId"),
            },
            zones: list("zones"),
            attributes,
        })
    }

    /// Validates ids, page, zones and attributes, and builds the engine's visitor.
    pub fn parse(self, edge: &Edge) -> Result<ParsedDecide, ApiError> {
        check_id("account", &self.account)?;
        let visitor_id = self.visitor_id.as_deref().unwrap_or("");
        let visit_id = self.visit_id.as_deref().unwrap_or("");
        check_id("visitorId", visitor_id)?;
        check_id("visitId", visit_id)?;
        if let Some(id) = &self.page.id {
            check_id("page.id", id)?;
        }
        if self.page.url.len() > 2048 {
            return Err(ApiError::invalid("page.url", "longer than 2048 bytes"));
        }
        let url = url::Url::parse(&self.page.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ApiError::invalid("page.url", "must be an absolute http(s) URL"))?;
        if self.page.sections.len() > 20 || self.page.sections.iter().any(|s| s.len() > 100) {
            return Err(ApiError::invalid(
                "page.sections",
                "at most 20 sections of 100 bytes",
            ));
        }
        if self.page.referrer.as_ref().is_some_and(|r| r.len() > 2048) {
            return Err(ApiError::invalid("page.referrer", "longer than 2048 bytes"));
        }
        let names = self
            .zones
            .unwrap_or_else(|| vec!["left".into(), "right".into(), "proactive".into()]);
        if names.len() > MAX_ZONES {
            return Err(ApiError::invalid(
                "zones",
                format!("at most {MAX_ZONES} zones"),
            ));
        }
        let mut zones: Vec<Zone> = Vec::with_capacity(names.len());
        for name in &names {
            let zone = Zone::parse(name).ok_or_else(|| {
                ApiError::invalid(
                    "zones",
                    format!(
                        "unknown zone \"{name}\": use left, right, proactive or embedded:<div id>"
                    ),
                )
            })?;
            if !zones.contains(&zone) {
                zones.push(zone);
            }
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(ApiError::invalid(
                "attributes",
                format!("at most {MAX_ATTRIBUTES} attributes"),
            ));
        }
        if self
            .attributes
            .values()
            .any(|v| depth(v) > MAX_ATTRIBUTE_DEPTH)
        {
            return Err(ApiError::invalid(
                "attributes",
                format!("nested deeper than {MAX_ATTRIBUTE_DEPTH}"),
            ));
        }
        let page = PageView {
            url: &url,
            sections: &self.page.sections,
            referrer: self.page.referrer.as_deref(),
            authenticated: self.page.authenticated,
        };
        let visitor = Visitor::new(visitor_id, visit_id, &page, self.attributes, edge);
        let page_id = self.page.id.clone().unwrap_or_else(|| {
            let mut u = url.clone();
            u.set_fragment(None);
            u.to_string()
        });
        Ok(ParsedDecide {
            account: self.account,
            visitor,
            zones,
            page_id,
        })
    }
}

/// Largest events body accepted, in bytes.
pub const MAX_EVENTS_BODY: usize = 32 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS: usize = 100;

/// One event as the worker forwards it to the visit (shape and names already checked).
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventIn {
    /// lpTag event name.
    pub event: String,
    /// Context id from the decision.
    pub context_id: String,
    /// Engagement id, when the tag sends it: must match the context's.
    #[serde(default)]
    pub engagement_id: Option<String>,
}

/// `POST /v1/events` body: `events` for a batch, or one event's fields inline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsBody {
    account: String,
    visit_id: String,
    #[serde(default)]
    visitor_id: Option<String>,
    #[serde(default)]
    events: Option<Vec<EventIn>>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    engagement_id: Option<String>,
}

/// A checked `POST /v1/events` request: ids valid, 1 to [`MAX_EVENTS`] events, every name one
/// of [`EventName::ALL`](crate::engine::visit::EventName::ALL). Whether an engagement id names
/// an engagement of the live snapshot is checked by the route, which has the snapshot.
#[derive(Debug, Clone)]
pub struct EventsRequest {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// The events, in request order.
    pub events: Vec<EventIn>,
}

impl EventsRequest {
    /// Parses and checks a JSON body (also sent as `text/plain` by `navigator.sendBeacon`).
    pub fn from_json(body: &[u8]) -> Result<EventsRequest, ApiError> {
        use crate::engine::visit::EventName;
        if body.len() > MAX_EVENTS_BODY {
            return Err(ApiError::TooLarge {
                limit: MAX_EVENTS_BODY,
            });
        }
        let b: EventsBody =
            serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        check_id("account", &b.account)?;
        check_id("visitId", &b.visit_id)?;
        if let Some(v) = &b.visitor_id {
            check_id("visitorId", v)?;
        }
        let events = match (b.events, b.event, b.context_id) {
            (Some(list), None, None) => list,
            (None, Some(event), Some(context_id)) => vec![EventIn {
                event,
                context_id,
                engagement_id: b.engagement_id,
            }],
            _ => {
                return Err(ApiError::invalid(
                    "events",
                    "send either events: [...] or event and contextId",
                ))
            }
        };
        if events.is_empty() || events.len() > MAX_EVENTS {
            return Err(ApiError::invalid(
                "events",
                format!("1 to {MAX_EVENTS} events per request"),
            ));
        }
        for (i, e) in events.iter().enumerate() {
            if EventName::parse(&e.event).is_none() {
                return Err(ApiError::invalid(
                    &format!("events[{i}].event"),
                    format!(
                        "unknown event \"{}\"; one of {}",
                        e.event.chars().take(40).collect::<String>(),
                        EventName::ALL.join(", ")
                    ),
                ));
            }
            check_id(&format!("events[{i}].contextId"), &e.context_id)?;
            if let Some(id) = &e.engagement_id {
                check_id(&format!("events[{i}].engagementId"), id)?;
            }
        }
        Ok(EventsRequest {
            account: b.account,
            visit_id: b.visit_id,
            events,
        })
    }
}

/// The decision as `/v1/decide` answers it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecideResponse<'a> {
    /// Account id.
    pub account: &'a str,
    /// Visitor id (echoed).
    pub visitor_id: &'a str,
    /// Visit id (echoed).
    pub visit_id: &'a str,
    /// Revision, control groups, engagements (and explanation when asked for).
    #[serde(flatten)]
    pub decision: &'a crate::engine::decide::Decision,
    /// Why the answer is less than usual, when it is: `visit_unavailable` (the visit could not
    /// be consulted: no proactive engagement was offered) or `snapshot_missing` /
    /// `snapshot_corrupt` / `snapshot_unreadable` (the live snapshot could not be read: the
    /// last one this isolate had, or no engagements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<&'static str>,
}
