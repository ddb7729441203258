//! The one check of a URL the worker sends a browser to (R-O5, R-P1): the snapshot's
//! destinations at publish, offsite redirects, creatives' links.

/// R-O5 / R-P1: a URL the worker may redirect to must be absolute https, with a host, no
/// credentials and no control characters, at most 2,048 bytes.
pub fn check_https_url(text: &str) -> Result<url::Url, String> {
    if text.len() > 2048 {
        return Err("URL longer than 2048 bytes".to_string());
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("URL contains whitespace or control characters".to_string());
    }
    let u = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "https" {
        return Err("URL must use https".to_string());
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("URL must name a host".to_string());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("URL must not carry credentials".to_string());
    }
    Ok(u)
}
