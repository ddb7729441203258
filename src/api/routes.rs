//! Every route the worker serves, as one table of (method, path template, route). The worker
//! dispatches on what [`resolve`] finds; tests/openapi.rs checks that this table and
//! docs/openapi.yaml name exactly the same operations, and the request log labels each request
//! with its template (ids never appear in route names).

use crate::tenancy::keys::Scope;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/health`.
    Health,
    /// CORS preflight of a tag route.
    Preflight,
    /// A decision (R-D1..R-D7).
    Decide,
    /// lpTag events (R-D9).
    Events,
    /// Button refresh (R-D8).
    State,
    /// An offsite engagement link (R-O1..R-O5).
    Offsite,
    /// The landing page exchanges an offsite click's context for its window data (R-O2).
    Landing,
    /// The brand's agent side reads a context, with the agent note (R-O2, R-D10).
    AgentContext,
    /// Admin: the measurement report for a date range (R-M5).
    Report,
    /// The tag reports a conversion (R-M2).
    Conversion,
    /// Admin: the brand's server reports a conversion (R-M2).
    ConversionAdmin,
    /// Admin: erase a visitor everywhere (R-M5).
    EraseVisitor,
    /// Admin: delete a campaign's measurements once it has left the live snapshot (R-M5).
    DeleteCampaignMeasurements,
    /// Admin: move the account's measurements from the D1 database of earlier releases into
    /// the measurement objects, a page per call (R-M6).
    MigrateMeasurements,
    /// The report page (R-M5): its data comes from the report route, with the token.
    ReportPage,
    /// A click on a click-to-call engagement (R-C1).
    ClickToCall,
    /// Brand API: validate a click-to-call token (R-C2).
    CallValidate,
    /// Brand API: the visitor and visit behind a call (R-C2).
    CallVisit,
    /// Brand API: report a call status (R-C2).
    CallStatus,
    /// Brand API: report visitor events for a call (R-C2).
    CallEvents,
    /// Admin: read the live snapshot.
    SnapshotRead,
    /// Admin: publish a snapshot (R-P1).
    SnapshotPublish,
    /// Admin: read availability.
    AvailabilityRead,
    /// Admin: push availability for several skills (R-P2).
    AvailabilityPush,
    /// Admin: push one skill's availability (R-P2).
    SkillAvailabilityPush,
    /// Admin: read a visit.
    VisitRead,
    /// Root: create a key for an account (R-S1).
    KeyCreate,
    /// Root: list an account's keys, never their secrets (R-S1).
    KeyList,
    /// Root: give a key a new secret (R-S1).
    KeyRotate,
    /// Root: revoke a key (R-S1).
    KeyRevoke,
    /// Admin: make a new identity-token secret, keeping the previous one (R-S2).
    IdentitySecret,
    /// Admin: the account's offsite links.
    OffsiteLinks,
    /// Admin: offsite click totals.
    Clicks,
    /// The demo site (only where `DEMO_ENABLED` is true).
    Demo,
}

/// Paths served as the worker's static assets (scripts/assets.mjs, `[assets]` in
/// wrangler.toml): answered by the platform before the worker runs, documented in
/// docs/openapi.yaml like the routes.
pub const ASSETS: &[&str] = &[
    "/v1/openapi.yaml",
    "/v1/schema/snapshot.json",
    "/report/assets/report.js",
    "/report/assets/report.css",
];

/// (method, path template, route). `{name}` matches one non-empty path segment.
pub const ROUTES: &[(&str, &str, Route)] = &[
    ("GET", "/v1/health", Route::Health),
    ("OPTIONS", "/v1/decide", Route::Preflight),
    ("GET", "/v1/decide", Route::Decide),
    ("POST", "/v1/decide", Route::Decide),
    ("OPTIONS", "/v1/events", Route::Preflight),
    ("POST", "/v1/events", Route::Events),
    ("OPTIONS", "/v1/state", Route::Preflight),
    ("GET", "/v1/state", Route::State),
    ("POST", "/v1/state", Route::State),
    ("GET", "/o/{account}/{engagement}", Route::Offsite),
    ("HEAD", "/o/{account}/{engagement}", Route::Offsite),
    ("OPTIONS", "/v1/conversions/{account}", Route::Preflight),
    ("POST", "/v1/conversions/{account}", Route::Conversion),
    ("GET", "/report/{account}", Route::ReportPage),
    (
        "POST",
        "/v1/admin/accounts/{account}/conversions",
        Route::ConversionAdmin,
    ),
    (
        "DELETE",
        "/v1/admin/accounts/{account}/visitors/{visitor}",
        Route::EraseVisitor,
    ),
    (
        "DELETE",
        "/v1/admin/accounts/{account}/campaigns/{campaign}/measurements",
        Route::DeleteCampaignMeasurements,
    ),
    (
        "POST",
        "/v1/admin/accounts/{account}/measurements/migrate",
        Route::MigrateMeasurements,
    ),
    ("OPTIONS", "/v1/landing/{account}", Route::Preflight),
    ("GET", "/v1/landing/{account}", Route::Landing),
    (
        "GET",
        "/v1/agent/accounts/{account}/contexts",
        Route::AgentContext,
    ),
    ("GET", "/c/{account}/{engagement}", Route::ClickToCall),
    (
        "POST",
        "/v1/click-to-call/{account}/validate",
        Route::CallValidate,
    ),
    (
        "POST",
        "/v1/click-to-call/{account}/visit",
        Route::CallVisit,
    ),
    (
        "POST",
        "/v1/click-to-call/{account}/status",
        Route::CallStatus,
    ),
    (
        "POST",
        "/v1/click-to-call/{account}/events",
        Route::CallEvents,
    ),
    (
        "GET",
        "/v1/admin/accounts/{account}/snapshot",
        Route::SnapshotRead,
    ),
    (
        "PUT",
        "/v1/admin/accounts/{account}/snapshot",
        Route::SnapshotPublish,
    ),
    (
        "GET",
        "/v1/admin/accounts/{account}/availability",
        Route::AvailabilityRead,
    ),
    (
        "PUT",
        "/v1/admin/accounts/{account}/availability",
        Route::AvailabilityPush,
    ),
    (
        "PUT",
        "/v1/admin/accounts/{account}/availability/{skill}",
        Route::SkillAvailabilityPush,
    ),
    (
        "GET",
        "/v1/admin/accounts/{account}/visits/{visitId}",
        Route::VisitRead,
    ),
    (
        "POST",
        "/v1/admin/accounts/{account}/keys",
        Route::KeyCreate,
    ),
    ("GET", "/v1/admin/accounts/{account}/keys", Route::KeyList),
    (
        "POST",
        "/v1/admin/accounts/{account}/keys/{key}/rotate",
        Route::KeyRotate,
    ),
    (
        "DELETE",
        "/v1/admin/accounts/{account}/keys/{key}",
        Route::KeyRevoke,
    ),
    (
        "POST",
        "/v1/admin/accounts/{account}/identity-secret",
        Route::IdentitySecret,
    ),
    (
        "GET",
        "/v1/admin/accounts/{account}/offsite-links",
        Route::OffsiteLinks,
    ),
    ("GET", "/v1/admin/accounts/{account}/clicks", Route::Clicks),
    ("GET", "/v1/admin/accounts/{account}/report", Route::Report),
    ("GET", "/demo", Route::Demo),
    ("GET", "/demo/shop/boots", Route::Demo),
    ("GET", "/demo/p/trail-boot-42", Route::Demo),
    ("GET", "/demo/help", Route::Demo),
    ("GET", "/demo/panel.js", Route::Demo),
    ("GET", "/demo/demo.css", Route::Demo),
];

/// Who may call a route (R-S1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the tag's routes, links, the report page, the demo (rate-limited, R-S3).
    Public,
    /// Only the operator's root token: the key API.
    Root,
    /// A key of the route's account with this scope.
    Key(Scope),
}

impl Route {
    /// Who may call the route. A decision asking for its explanation also needs
    /// [`Scope::Explain`] (decide.rs).
    pub fn access(self) -> Access {
        use Route::*;
        match self {
            KeyCreate | KeyList | KeyRotate | KeyRevoke => Access::Root,
            SnapshotRead | SnapshotPublish | OffsiteLinks | MigrateMeasurements => {
                Access::Key(Scope::Publish)
            }
            AvailabilityRead | AvailabilityPush | SkillAvailabilityPush => {
                Access::Key(Scope::Availability)
            }
            Report | Clicks => Access::Key(Scope::Reports),
            ConversionAdmin => Access::Key(Scope::Conversions),
            VisitRead => Access::Key(Scope::Explain),
            EraseVisitor | DeleteCampaignMeasurements => Access::Key(Scope::Erase),
            AgentContext => Access::Key(Scope::Agent),
            CallValidate | CallVisit | CallStatus | CallEvents => Access::Key(Scope::Calls),
            IdentitySecret => Access::Key(Scope::Identity),
            Health | Preflight | Decide | Events | State | Offsite | Landing | Conversion
            | ReportPage | ClickToCall | Demo => Access::Public,
        }
    }

    /// A route the web tag calls from the brand's pages (R-T1..R-T3): answered with CORS
    /// headers, refused first when its client is blocked (R-S3).
    pub fn is_tag(self) -> bool {
        matches!(
            self,
            Route::Decide | Route::Events | Route::State | Route::Landing | Route::Conversion
        )
    }
}

impl Resolved<'_> {
    /// The route found, if any.
    pub fn route(&self) -> Option<Route> {
        match self {
            Resolved::Found { route, .. } => Some(*route),
            _ => None,
        }
    }
}

/// A request matched against [`ROUTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The route, its template, and the path parameters in template order.
    Found {
        /// What the request is for.
        route: Route,
        /// The matching template, for logs.
        template: &'static str,
        /// `{name}` segments, in order.
        params: Vec<&'a str>,
    },
    /// The path exists with other methods.
    MethodNotAllowed {
        /// A template of the path, for logs.
        template: &'static str,
    },
    /// No route has this path.
    NotFound,
}

fn matches<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut got = path.strip_prefix('/')?.split('/');
    for want in template.strip_prefix('/')?.split('/') {
        let seg = got.next()?;
        if want.starts_with('{') {
            if seg.is_empty() {
                return None;
            }
            params.push(seg);
        } else if want != seg {
            return None;
        }
    }
    got.next().is_none().then_some(params)
}

/// Finds the route for `method` and `path` (a trailing `/` is ignored).
pub fn resolve<'a>(method: &str, path: &'a str) -> Resolved<'a> {
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let mut other_method = None;
    for &(m, template, route) in ROUTES {
        if let Some(params) = matches(template, path) {
            if m == method {
                return Resolved::Found {
                    route,
                    template,
                    params,
                };
            }
            other_method.get_or_insert(template);
        }
    }
    match other_method {
        Some(template) => Resolved::MethodNotAllowed { template },
        None => Resolved::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_capture_segments_and_methods_are_told_apart() {
        assert_eq!(
            resolve("GET", "/o/demo/e-offsite-email"),
            Resolved::Found {
                route: Route::Offsite,
                template: "/o/{account}/{engagement}",
                params: vec!["demo", "e-offsite-email"]
            }
        );
        assert_eq!(
            resolve("DELETE", "/v1/decide"),
            Resolved::MethodNotAllowed {
                template: "/v1/decide"
            }
        );
        assert!(matches!(
            resolve("GET", "/demo/"),
            Resolved::Found {
                route: Route::Demo,
                ..
            }
        ));
        for path in [
            "/o/demo",
            "/o/demo//",
            "/o//x",
            "/v1/decide/x",
            "",
            "/",
            "/nothing",
        ] {
            assert_eq!(resolve("GET", path), Resolved::NotFound, "{path}");
        }
    }
}
