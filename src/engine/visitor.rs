//! The visitor as conditions see it (R-D1): the attributes the tag sends, merged with what only
//! the edge can know (geo, device, page), under documented names (docs/attributes.md).

use super::entry_point::Page;
use serde_json::{Map, Value};

/// What the edge knows about the request, independent of what the tag claims.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// Region (state, county) name.
    pub region: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// The page a tag request describes.
#[derive(Debug, Clone, Copy)]
pub struct PageView<'a> {
    /// Absolute page URL.
    pub url: &'a url::Url,
    /// `lpTag.section` values.
    pub sections: &'a [String],
    /// `document.referrer`.
    pub referrer: Option<&'a str>,
    /// The page carries an authenticated identity.
    pub authenticated: bool,
}

impl<'a> PageView<'a> {
    /// A view of `url` with no sections, no referrer and no identity: an offsite link's
    /// landing, and the plain page of tests and benches.
    pub fn at(url: &'a url::Url) -> PageView<'a> {
        PageView {
            url,
            sections: &[],
            referrer: None,
            authenticated: false,
        }
    }
}

/// A visitor on a page, ready for decisions.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// Sticky per browser: control groups (R-D5) hash it.
    pub visitor_id: String,
    /// One visit (session): draws (R-D4) hash it.
    pub visit_id: String,
    /// The page the tag is on.
    pub page: Page,
    /// The page carries an authenticated identity.
    pub authenticated: bool,
    /// Condition attributes (a JSON object).
    pub attributes: Value,
}

/// Device class from a user agent: `mobile`, `tablet` or `desktop`.
pub fn device(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("ipad")
        || ua.contains("tablet")
        || (ua.contains("android") && !ua.contains("mobile"))
    {
        "tablet"
    } else if ua.contains("mobi") || ua.contains("iphone") {
        "mobile"
    } else {
        "desktop"
    }
}

impl Visitor {
    /// Builds the visitor. Edge-derived attributes (`country`, `region`, `city`, `device`,
    /// `url`, `host`, `path`, `query`, `sections`, `authenticated`, `referrer`) replace any the
    /// tag sent under the same names, so a page cannot claim another country.
    pub fn new(
        visitor_id: &str,
        visit_id: &str,
        page: &PageView<'_>,
        tag_attributes: Map<String, Value>,
        edge: &Edge,
    ) -> Visitor {
        let (page_url, sections) = (page.url, page.sections);
        let mut attrs = tag_attributes;
        let mut set = |k: &str, v: Value| {
            attrs.insert(k.to_string(), v);
        };
        let opt = |s: &Option<String>| s.as_ref().map_or(Value::Null, |v| Value::from(v.as_str()));
        set(
            "country",
            opt(&edge.country.as_ref().map(|c| c.to_ascii_uppercase())),
        );
        set("region", opt(&edge.region));
        set("city", opt(&edge.city));
        set(
            "device",
            Value::from(device(edge.user_agent.as_deref().unwrap_or(""))),
        );
        set("url", Value::from(page_url.as_str()));
        set("host", Value::from(page_url.host_str().unwrap_or("")));
        set("path", Value::from(page_url.path()));
        let query: Map<String, Value> = page_url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
            .collect();
        set("query", Value::Object(query));
        set("sections", Value::from(sections.to_vec()));
        set("authenticated", Value::from(page.authenticated));
        set("referrer", page.referrer.map_or(Value::Null, Value::from));
        Visitor {
            visitor_id: visitor_id.to_string(),
            visit_id: visit_id.to_string(),
            page: Page::new(page_url.as_str(), sections),
            authenticated: page.authenticated,
            attributes: Value::Object(attrs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_d1_device_classes() {
        assert_eq!(
            device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"),
            "mobile"
        );
        assert_eq!(
            device("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari"),
            "mobile"
        );
        assert_eq!(device("Mozilla/5.0 (iPad; CPU OS 17_0)"), "tablet");
        assert_eq!(
            device("Mozilla/5.0 (Linux; Android 14; SM-X910) Safari"),
            "tablet"
        );
        assert_eq!(
            device("Mozilla/5.0 (X11; Linux x86_64) Chrome/130"),
            "desktop"
        );
    }

    #[test]
    fn r_d1_edge_geo_overrides_tag_claims() {
        let mut tag = Map::new();
        tag.insert("country".into(), Value::from("US"));
        tag.insert("cartValue".into(), Value::from(120));
        let edge = Edge {
            country: Some("gb".into()),
            ..Edge::default()
        };
        let url = url::Url::parse("https://shop.test/p?utm_source=mail").unwrap();
        let page = PageView {
            url: &url,
            sections: &[],
            referrer: None,
            authenticated: false,
        };
        let v = Visitor::new("v", "s", &page, tag, &edge);
        assert_eq!(v.attributes["country"], "GB");
        assert_eq!(v.attributes["cartValue"], 120);
        assert_eq!(v.attributes["query"]["utm_source"], "mail");
        assert_eq!(v.attributes["device"], "desktop");
    }
}
