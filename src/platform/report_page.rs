//! `GET /report/{account}` (R-M5): the report page. The page itself holds no data: it asks the
//! reader for a token and reads the report API with it, so the page is served to anyone and the
//! numbers only to the token's holder.

use super::http::Answer;
use super::internal;
use crate::api::check_id;
use worker::Response;

const PAGE: &str = include_str!("../../report/index.html");

/// Serves the page; its script and style are static assets (`/report/assets/…`).
pub fn serve(account: &str) -> Answer {
    check_id("account", account)?;
    let mut resp = Response::ok(PAGE.replace("{account}", account)).map_err(internal)?;
    let h = resp.headers_mut();
    h.set("Content-Type", "text/html; charset=utf-8")
        .map_err(internal)?;
    h.set(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    )
    .map_err(internal)?;
    Ok(resp)
}
