//! Entry points (R-D1): where on the site an engagement may show — URL rules (contains, exact,
//! regex) with excludes, or page sections. An entry point with no rules is the entire website.

use regex_lite::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::cell::OnceCell;

/// One URL rule as published: exactly one of the three keys.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum UrlRuleSpec {
    /// The page URL contains this text (case-insensitive).
    Contains(String),
    /// The page URL equals this URL, ignoring a trailing slash and the fragment.
    Exact(String),
    /// The page URL matches this regular expression.
    Regex(String),
}

/// An entry point as published (a library object that engagements refer to by id).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryPointSpec {
    /// Referenced by engagements.
    pub id: String,
    /// For people.
    #[serde(default)]
    pub name: String,
    /// Any of these matches the page.
    #[serde(default)]
    pub include: Vec<UrlRuleSpec>,
    /// None of these may match the page.
    #[serde(default)]
    pub exclude: Vec<UrlRuleSpec>,
    /// Page sections: substring match, or exact when written in double quotes.
    #[serde(default)]
    pub sections: Vec<String>,
}

#[derive(Debug, Clone)]
enum UrlRule {
    /// Lower-cased text, and its byte pairs ([`Pairs`]).
    Contains(String, Pairs),
    Exact(String),
    /// A regex and, when it is anchored with `^`, the literal text every match starts with:
    /// a cheap test that skips the regex engine for most pages.
    Regex(Regex, String),
}

/// The literal prefix of a `^`-anchored pattern (empty when there is none or it is unclear).
fn literal_prefix(pattern: &str) -> String {
    let Some(rest) = pattern.strip_prefix('^') else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => e,
                _ => break,
            },
            '.' | '[' | ']' | '(' | ')' | '{' | '}' | '*' | '+' | '?' | '|' | '^' | '$' => break,
            c => c,
        };
        // A quantifier after this character makes it optional or repeated: stop before it.
        if matches!(chars.peek(), Some('*' | '?' | '{' | '+')) {
            break;
        }
        out.push(lit);
    }
    out
}

#[derive(Debug, Clone)]
enum SectionRule {
    Contains(String),
    Exact(String),
}

/// A compiled entry point.
#[derive(Debug, Clone)]
pub struct EntryPoint {
    /// The entry point id.
    pub id: String,
    include: Vec<UrlRule>,
    exclude: Vec<UrlRule>,
    sections: Vec<SectionRule>,
}

/// The page a request comes from.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Full URL as the browser shows it.
    pub url: String,
    /// Lower-cased URL, for case-insensitive rules.
    pub url_lower: String,
    /// Section tags the page pushed (`lpTag.section`), lower-cased.
    pub sections: Vec<String>,
    /// The lower-cased URL's byte pairs, worked out for the first `contains` rule.
    url_pairs: OnceCell<Pairs>,
}

/// The byte pairs of a text, hashed into 256 bits. A text that lacks one of a needle's pairs
/// cannot contain it: `contains` rules that cannot match a page (most of a large account's)
/// are answered without a substring search, whose set-up alone costs more than this test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pairs([u64; 4]);

impl Pairs {
    fn of(text: &str) -> Pairs {
        let mut pairs = Pairs::default();
        let bytes = text.as_bytes();
        for (&a, &b) in bytes.iter().zip(bytes.iter().skip(1)) {
            let bit = usize::from(a.wrapping_mul(31) ^ b.rotate_left(3));
            if let Some(word) = pairs.0.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
        }
        pairs
    }

    /// True when every pair of `needle` may be in this text.
    fn may_contain(&self, needle: &Pairs) -> bool {
        self.0
            .iter()
            .zip(needle.0)
            .all(|(&have, want)| want & !have == 0)
    }
}

impl Page {
    /// Builds a page from its URL and sections.
    pub fn new(url: &str, sections: &[String]) -> Page {
        Page {
            url: url.to_string(),
            url_lower: url.to_lowercase(),
            sections: sections.iter().map(|s| s.to_lowercase()).collect(),
            url_pairs: OnceCell::new(),
        }
    }
}

/// An exact rule's form of a URL: lower case, without its fragment or trailing slashes.
fn normalise_exact(url: &str) -> String {
    exact_form(&url.to_lowercase()).to_string()
}

/// [`normalise_exact`] of a URL already in lower case, without allocating: `#` and `/` are
/// ASCII, so cutting them before or after lower-casing gives the same text.
fn exact_form(lower: &str) -> &str {
    let no_fragment = lower.split('#').next().unwrap_or("");
    no_fragment.trim_end_matches('/')
}

fn compile_rule(rule: &UrlRuleSpec, at: &str, problems: &mut Vec<String>) -> Option<UrlRule> {
    match rule {
        UrlRuleSpec::Contains(s) if !s.is_empty() => {
            let lower = s.to_lowercase();
            let pairs = Pairs::of(&lower);
            Some(UrlRule::Contains(lower, pairs))
        }
        UrlRuleSpec::Exact(s) if !s.is_empty() => Some(UrlRule::Exact(normalise_exact(s))),
        UrlRuleSpec::Regex(p) => match RegexBuilder::new(p).size_limit(1 << 16).build() {
            Ok(re) => Some(UrlRule::Regex(re, literal_prefix(p))),
            Err(e) => {
                problems.push(format!("{at}: invalid regex: {e}"));
                None
            }
        },
        _ => {
            problems.push(format!("{at}: empty URL rule"));
            None
        }
    }
}

impl UrlRule {
    fn matches(&self, page: &Page) -> bool {
        match self {
            UrlRule::Contains(s, pairs) => {
                let url_pairs = page.url_pairs.get_or_init(|| Pairs::of(&page.url_lower));
                url_pairs.may_contain(pairs) && page.url_lower.contains(s.as_str())
            }
            UrlRule::Exact(s) => exact_form(&page.url_lower) == s,
            UrlRule::Regex(re, prefix) => {
                page.url.starts_with(prefix.as_str()) && re.is_match(&page.url)
            }
        }
    }
}

impl EntryPoint {
    /// Validates and compiles; problems are `field: message` relative to the entry point.
    pub fn compile(spec: &EntryPointSpec, problems: &mut Vec<String>) -> EntryPoint {
        let rules = |list: &[UrlRuleSpec], field: &str, problems: &mut Vec<String>| {
            list.iter()
                .enumerate()
                .filter_map(|(i, r)| compile_rule(r, &format!("{field}[{i}]"), problems))
                .collect()
        };
        let include = rules(&spec.include, "include", problems);
        let exclude = rules(&spec.exclude, "exclude", problems);
        let sections = spec
            .sections
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let t = s.trim();
                let quoted = t.len() >= 2 && t.starts_with('"') && t.ends_with('"');
                let inner = if quoted {
                    t.get(1..t.len() - 1).unwrap_or("")
                } else {
                    t
                };
                if inner.is_empty() {
                    problems.push(format!("sections[{i}]: empty section"));
                    return None;
                }
                let inner = inner.to_lowercase();
                Some(if quoted {
                    SectionRule::Exact(inner)
                } else {
                    SectionRule::Contains(inner)
                })
            })
            .collect();
        EntryPoint {
            id: spec.id.clone(),
            include,
            exclude,
            sections,
        }
    }

    /// R-D1: does the page fall inside this entry point?
    pub fn matches(&self, page: &Page) -> bool {
        let whole_site = self.include.is_empty() && self.sections.is_empty();
        let included = whole_site
            || self.include.iter().any(|r| r.matches(page))
            || self.sections.iter().any(|rule| {
                page.sections.iter().any(|s| match rule {
                    SectionRule::Contains(x) => s.contains(x.as_str()),
                    SectionRule::Exact(x) => s == x,
                })
            });
        included && !self.exclude.iter().any(|r| r.matches(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(json: &str) -> EntryPoint {
        let spec: EntryPointSpec = serde_json::from_str(json).unwrap();
        let mut problems = Vec::new();
        let ep = EntryPoint::compile(&spec, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        ep
    }

    #[test]
    fn r_d1_entry_point_url_rules_with_excludes() {
        let e = ep(
            r#"{"id":"shop","include":[{"contains":"/Shop"},{"exact":"https://x.test/deals/"},
            {"regex":"^https://x\\.test/p/[0-9]+$"}],"exclude":[{"contains":"/shop/checkout"}]}"#,
        );
        let m = |u: &str| e.matches(&Page::new(u, &[]));
        assert!(m("https://x.test/shop/cameras"));
        assert!(m("https://x.test/deals#top"));
        assert!(m("https://X.test/Deals//"));
        assert!(!m("https://x.test/deals/more"));
        assert!(m("https://x.test/p/42"));
        assert!(!m("https://x.test/p/42x"));
        assert!(!m("https://x.test/shop/checkout/pay"));
        assert!(!m("https://x.test/about"));
    }

    /// R-D1: a `contains` rule is a substring test whatever the page: the byte-pair test
    /// only skips searches that cannot succeed. Random URLs over a small alphabet (so that
    /// most needles are found somewhere), and needles cut from them or made up.
    #[test]
    fn r_d1_contains_is_a_substring_test() {
        let mut state = 7u64;
        let mut below = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let alphabet = ['a', 'B', '/', '-', '1', 'é', 'Σ'];
        let (mut found, mut missed) = (0, 0);
        for _ in 0..3_000 {
            let url: String = (0..below(30)).map(|_| alphabet[below(7)]).collect();
            let chars: Vec<char> = url.chars().collect();
            let needle: String = if below(2) == 0 && !chars.is_empty() {
                let from = below(chars.len());
                chars[from..(from + 1 + below(5)).min(chars.len())]
                    .iter()
                    .collect()
            } else {
                (0..1 + below(4)).map(|_| alphabet[below(7)]).collect()
            };
            let rule = serde_json::json!({"id": "x", "include": [{"contains": needle}]});
            let e = ep(&rule.to_string());
            let expected = url.to_lowercase().contains(&needle.to_lowercase());
            assert_eq!(
                e.matches(&Page::new(&url, &[])),
                expected,
                "{url:?} {needle:?}"
            );
            if expected {
                found += 1;
            } else {
                missed += 1;
            }
        }
        assert!(found > 1_000 && missed > 500, "{found} found, {missed} not");
    }

    #[test]
    fn r_d1_entry_point_sections_substring_or_quoted_exact() {
        let e = ep(r#"{"id":"cams","sections":["camera", "\"dslr body\""]}"#);
        let m = |s: &[&str]| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            e.matches(&Page::new("https://x.test/", &s))
        };
        assert!(m(&["Cameras"]));
        assert!(m(&["dslr body"]));
        assert!(!m(&["dslr body kit"]));
        assert!(!m(&[]));
        assert!(ep(r#"{"id":"all"}"#).matches(&Page::new("https://any.test/", &[])));
    }

    #[test]
    fn regex_prefix_is_only_what_every_match_starts_with() {
        assert_eq!(
            literal_prefix(r"^https://x\.test/p/[0-9]+$"),
            "https://x.test/p/"
        );
        assert_eq!(literal_prefix(r"^https?://x"), "http");
        assert_eq!(literal_prefix(r"^ab*c"), "a");
        assert_eq!(literal_prefix(r"^(a|b)"), "");
        assert_eq!(literal_prefix(r"x\.test"), "");
        assert_eq!(literal_prefix(r"^a\d"), "a");
    }

    #[test]
    fn r_p1_bad_rules_are_reported() {
        let spec: EntryPointSpec = serde_json::from_str(
            r#"{"id":"x","include":[{"regex":"("},{"contains":""}],"sections":["\"\""]}"#,
        )
        .unwrap();
        let mut problems = Vec::new();
        EntryPoint::compile(&spec, &mut problems);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
