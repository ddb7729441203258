//! `/v1/decide`: the request the tag sends, checked and turned into the engine's inputs, and
//! the answer.

use super::error::*;
use crate::engine::decision::Decision;
use crate::engine::visitor::{Edge, PageView, Visitor};
use crate::engine::zone::Zone;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Most closed engagements a decision request carries (`declined`).
pub const MAX_DECLINED: usize = 100;

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
    /// An identity token the brand signed for the logged-in visitor (R-S2): the page counts as
    /// authenticated only when it verifies (docs/tenancy.md). There is no `authenticated` flag:
    /// a request cannot say so by itself.
    #[serde(default)]
    pub identity: Option<String>,
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
    /// The engagements the visitor closed in this visit, as the tag kept them (tag 1.1), sent
    /// with a page view's first decision only. With it, a page view whose zones have no
    /// proactive candidate is decided without waiting for the visit's object; without
    /// it, every decision asks the visit.
    #[serde(default)]
    pub declined: Option<Vec<String>>,
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
    /// The closed engagements the tag carried (R-D7), if it did.
    pub declined: Option<BTreeSet<String>>,
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
    /// separated), `referrer`, `identity` (a token, R-S2), `zones` (comma separated),
    /// `attributes` (a JSON object) and `declined` (comma separated, possibly empty).
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
                identity: text("identity"),
                id: text("pageId"),
            },
            zones: list("zones"),
            attributes,
            declined: list("declined"),
        })
    }

    /// Validates ids, page, zones and attributes, and builds the engine's visitor; the page is
    /// authenticated when it carries an identity token and `verify` accepts it (R-S2).
    pub fn parse(
        self,
        edge: &Edge,
        verify: impl FnOnce(&str) -> bool,
    ) -> Result<ParsedDecide, ApiError> {
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
        let declined = match self.declined {
            Some(ids) if ids.len() > MAX_DECLINED => {
                return Err(ApiError::invalid(
                    "declined",
                    format!("at most {MAX_DECLINED} engagement ids"),
                ))
            }
            Some(ids) => {
                for id in &ids {
                    check_id("declined", id)?;
                }
                Some(ids.into_iter().collect())
            }
            None => None,
        };
        let page = PageView {
            url: &url,
            sections: &self.page.sections,
            referrer: self.page.referrer.as_deref(),
            authenticated: self.page.identity.as_deref().is_some_and(verify),
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
            declined,
        })
    }
}

/// The decision as `/v1/decide` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecideResponse<'a> {
    /// Account id.
    pub account: &'a str,
    /// Visitor id (echoed).
    pub visitor_id: &'a str,
    /// Visit id (echoed).
    pub visit_id: &'a str,
    /// The visit's idle timeout (R-D6): the tag forgets what it keeps for the visit (its
    /// declines) once the visit has been idle this long.
    pub visit_timeout_minutes: u16,
    /// Revision, control groups, engagements (and explanation when asked for).
    #[serde(flatten)]
    pub decision: &'a Decision<'a>,
    /// Why the answer is less than usual, when it is: `visit_unavailable` (the visit could not
    /// be consulted: no proactive engagement was offered) or `snapshot_missing` /
    /// `snapshot_corrupt` / `snapshot_unreadable` (the live snapshot could not be read: the
    /// last one this isolate had, or no engagements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<Degraded>,
}

/// Why an answer is less than usual (R-P4's fail-safes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Degraded {
    /// The visit's object could not be consulted: no proactive engagement was offered.
    VisitUnavailable,
    /// The live snapshot is not in KV.
    SnapshotMissing,
    /// The live snapshot in KV does not compile.
    SnapshotCorrupt,
    /// KV could not be read.
    SnapshotUnreadable,
}

impl Degraded {
    /// The code as answers and logs name it.
    pub fn code(self) -> &'static str {
        match self {
            Degraded::VisitUnavailable => "visit_unavailable",
            Degraded::SnapshotMissing => "snapshot_missing",
            Degraded::SnapshotCorrupt => "snapshot_corrupt",
            Degraded::SnapshotUnreadable => "snapshot_unreadable",
        }
    }
}
