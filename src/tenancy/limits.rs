//! R-S3: what each rate limit counts, and how a refused request is answered. The limits
//! themselves (requests per period) are the platform's rate-limiting bindings in wrangler.toml,
//! one per [`Limit`], with the reasoning in docs/tenancy.md; the periods here must be theirs
//! (a native test reads wrangler.toml).

use std::net::IpAddr;

/// One rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The tag's routes (decide, state, events' beacon preflight, landing, conversions): per
    /// client address and account.
    Tag,
    /// Offsite and click-to-call links: per client address.
    Link,
    /// Events: per visit.
    Events,
    /// Failed authentications (keys, the root token): per client address.
    FailedAuth,
}

impl Limit {
    /// Every limit.
    pub const ALL: [Limit; 4] = [Limit::Tag, Limit::Link, Limit::Events, Limit::FailedAuth];

    /// The rate-limiting binding in wrangler.toml (declared here, not in the platform's
    /// bindings, so that a native test can hold wrangler.toml to [`Limit::period_s`]).
    pub fn binding(self) -> &'static str {
        match self {
            Limit::Tag => "TAG_LIMIT",
            Limit::Link => "LINK_LIMIT",
            Limit::Events => "EVENTS_LIMIT",
            Limit::FailedAuth => "AUTH_LIMIT",
        }
    }

    /// The binding's period in seconds (10 or 60, the two the platform offers): the
    /// `Retry-After` of a refusal.
    pub fn period_s(self) -> u32 {
        match self {
            Limit::Tag | Limit::Link | Limit::Events => 10,
            Limit::FailedAuth => 60,
        }
    }

    /// True when the limit counts per client address ([`client`]); events count per visit,
    /// wherever they come from.
    pub fn per_client(self) -> bool {
        self != Limit::Events
    }

    /// The key counted: the limit's name, then the client (and account or visit).
    pub fn key(self, parts: &[&str]) -> String {
        let name = match self {
            Limit::Tag => "tag",
            Limit::Link => "link",
            Limit::Events => "events",
            Limit::FailedAuth => "auth",
        };
        let mut key = name.to_string();
        for p in parts {
            key.push('|');
            key.push_str(p);
        }
        key
    }
}

/// The client a request is counted against: its IPv4 address, or the /64 of an IPv6 address
/// (one subscriber's network holds a whole /64, so counting single v6 addresses would let one
/// client take 2^64 budgets). Unparseable or missing: one shared bucket, `unknown`.
pub fn client(address: Option<&str>) -> String {
    match address.and_then(|a| a.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_string(),
    }
}
