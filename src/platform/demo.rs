//! `/demo`: a small demo site for the demo account, running the web tag (tag/). Served only where the
//! `DEMO_ENABLED` var is `true` (local setups; unset in production, where it is a 404).

use super::bindings;
use super::offsite::not_found;
use worker::{Env, Response, Result};

const PAGE: &str = include_str!("../../demo/index.html");
const PANEL: &str = include_str!("../../demo/panel.js");
const CSS: &str = include_str!("../../demo/demo.css");

/// Serves a demo page or asset.
pub fn serve(env: &Env, path: &str) -> Result<Response> {
    if !bindings::flag(env, bindings::DEMO_ENABLED) {
        return not_found();
    }
    let (body, kind) = match path {
        "/demo/panel.js" => (PANEL, "text/javascript; charset=utf-8"),
        "/demo/demo.css" => (CSS, "text/css; charset=utf-8"),
        "/demo" | "/demo/" | "/demo/shop/boots" | "/demo/p/trail-boot-42" | "/demo/help" => {
            (PAGE, "text/html; charset=utf-8")
        }
        _ => return not_found(),
    };
    let mut resp = Response::ok(body)?;
    let h = resp.headers_mut();
    h.set("Content-Type", kind)?;
    h.set(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'",
    )?;
    Ok(resp)
}
