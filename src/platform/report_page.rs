//! `GET /report/{account}` (R-M5): the report page. The page itself holds no data: it asks the
//! reader for a token and reads the report API with it, so the page is served to anyone and the
//! numbers only to the token's holder.

use super::http::Answer;
use super::internal;
use crate::api::{check_id, ApiError};
use worker::Response;

const PAGE: &str = include_str!("../../report/index.html");
const SCRIPT: &str = include_str!("../../report/report.js");
const STYLE: &str = include_str!("../../report/report.css");

/// Serves the page (`asset` empty) or one of its two files.
pub fn serve(account: &str, asset: &str) -> Answer {
    check_id("account", account)?;
    let (body, kind) = match asset {
        "" => (
            PAGE.replace("{account}", account),
            "text/html; charset=utf-8",
        ),
        "report.js" => (SCRIPT.to_string(), "text/javascript; charset=utf-8"),
        "report.css" => (STYLE.to_string(), "text/css; charset=utf-8"),
        _ => return Err(ApiError::NotFound("report file".to_string())),
    };
    let mut resp = Response::ok(body).map_err(internal)?;
    let h = resp.headers_mut();
    h.set("Content-Type", kind).map_err(internal)?;
    h.set(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    )
    .map_err(internal)?;
    Ok(resp)
}
