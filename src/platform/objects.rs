//! Calls from the worker to its Durable Objects, over their internal HTTP routes.

use crate::protocol::ApiError;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

/// Sends `method path` to the object named `name` of namespace `binding`. Platform failures
/// become [`ApiError::Unavailable`]; the object's own status is left to the caller.
pub async fn call(
    env: &Env,
    binding: &str,
    name: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Result<Response, ApiError> {
    let fail = |e: worker::Error| ApiError::Unavailable(format!("{binding}: {e}"));
    let stub = env
        .durable_object(binding)
        .and_then(|ns| ns.get_by_name(name))
        .map_err(fail)?;
    let mut init = RequestInit::new();
    init.with_method(method);
    let h = Headers::new();
    for (k, v) in headers {
        h.set(k, v).map_err(fail)?;
    }
    init.with_headers(h);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let req = Request::new_with_init(&format!("https://object{path}"), &init).map_err(fail)?;
    stub.fetch_with_request(req).await.map_err(fail)
}
