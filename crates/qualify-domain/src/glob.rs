//! Globs as Qualify's users write them: in vetting rules (a customer's domain, a website, a GCC
//! code) and in test faults (a request's path). `*` is any run of characters, `?` one, `[…]` one
//! of a set (`[!…]` one not in it); ASCII letters match in either case. For paths, `/` separates: `*`
//! and `?` stay within a segment and `**` (a whole segment) spans any number of them.
//!
//! Matched by `fast-glob` on the pattern's own text, never compiled: a pattern costs memory
//! only for its text, and matching takes at most time proportional to the pattern's length
//! times the value's, whatever the pattern. (The `glob` crate used before backtracks: one
//! fault's pattern once cost 4.3 s a request, under a lock every partner's requests took.)
//! That bound is why both a pattern's length ([`MAX_GLOB_CHARS`]) and each user's patterns in
//! all are bounded where they are set.

use std::fmt;

/// The longest pattern, in characters: longer than any domain, path or code it is meant for.
pub const MAX_GLOB_CHARS: usize = 256;

/// Stands in for `/` where it is an ordinary character (every glob but a path's): `fast-glob`
/// stops `*` at `/`, and no value a rule matches holds a control character.
const PLAIN_SLASH: char = '\u{1}';

/// What `/` means in a glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slash {
    /// An ordinary character (domains, websites, codes): `*` spans it.
    Plain,
    /// A path's separator: `*` stays within a segment, `**` spans segments.
    Separator,
}

/// A pattern, parsed.
#[derive(Clone)]
pub struct Glob {
    text: String,
    matcher: Matcher,
}

/// How a glob is matched. Most of a rule's are a name, or `*` and a suffix (`*.edu`), compared
/// as text; only the others need the general matcher. Rules are tried on every submission,
/// inside its transaction, so this is worth it.
#[derive(Clone)]
enum Matcher {
    /// No wildcard: the whole value, in either case.
    Exact(String),
    /// `*` then no wildcard: the value's end, in either case (only where `/` is plain).
    Suffix(String),
    /// Anything else: `fast-glob`'s dialect of the pattern, in lower case.
    Pattern { dialect: String, slash: Slash },
}

/// Why a pattern is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidGlob(String);

impl Glob {
    /// Parses `text` (trimmed), where `/` means `slash`.
    pub fn parse(text: &str, slash: Slash) -> Result<Self, InvalidGlob> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InvalidGlob("a pattern is empty".into()));
        }
        if text.chars().count() > MAX_GLOB_CHARS {
            return Err(InvalidGlob(format!(
                "the pattern is longer than {MAX_GLOB_CHARS} characters"
            )));
        }
        if text.chars().any(char::is_control) {
            return Err(InvalidGlob(
                "a pattern holds no control characters".to_owned(),
            ));
        }
        let special = |s: &str| s.contains(['*', '?', '[', ']']);
        let matcher = match (text.strip_prefix('*'), slash) {
            (None, _) if !special(text) => Matcher::Exact(text.to_ascii_lowercase()),
            (Some(suffix), Slash::Plain) if !special(suffix) => {
                Matcher::Suffix(suffix.to_ascii_lowercase())
            }
            _ => {
                let dialect = dialect(&text.to_ascii_lowercase(), slash);
                fast_glob::validate(&dialect).map_err(|error| {
                    InvalidGlob(format!("the pattern '{text}' is not valid: {error}"))
                })?;
                Matcher::Pattern { dialect, slash }
            }
        };
        Ok(Self {
            text: text.to_owned(),
            matcher,
        })
    }

    /// Does `value` match?
    pub fn matches(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(name) => value.eq_ignore_ascii_case(name),
            Matcher::Suffix(suffix) => {
                value.len() >= suffix.len()
                    && value
                        .get(value.len() - suffix.len()..)
                        .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
            }
            Matcher::Pattern { dialect, slash } => {
                let mut value = value.to_ascii_lowercase();
                if *slash == Slash::Plain && value.contains('/') {
                    value = value.replace('/', &PLAIN_SLASH.to_string());
                }
                fast_glob::glob_match(dialect, &value)
            }
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `pattern` in `fast-glob`'s dialect: what Qualify's dialect treats as ordinary characters
/// (`{`, `}`, `\`, a leading `!`, and `/` where it is plain) escaped or stood in for.
fn dialect(pattern: &str, slash: Slash) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    for (index, c) in pattern.chars().enumerate() {
        match c {
            '{' | '}' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '!' if index == 0 => out.push_str("\\!"),
            '/' if slash == Slash::Plain => out.push(PLAIN_SLASH),
            _ => out.push(c),
        }
    }
    out
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.text)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Glob {}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(pattern: &str) -> Glob {
        Glob::parse(pattern, Slash::Plain).unwrap()
    }

    fn path(pattern: &str) -> Glob {
        Glob::parse(pattern, Slash::Separator).unwrap()
    }

    /// The matcher agrees with the `glob` crate, which it replaced, on the patterns people write.
    #[test]
    fn a_glob_matches_as_the_glob_crate_did() {
        let patterns = [
            "*.edu",
            "state.edu",
            "*",
            "*.K12.*.us",
            "school?.edu",
            "[ab]*.example",
            "[!ab]*.example",
            "*é.example",
            "https://*.edu/*",
            "{a}.example",
            "!a.example",
            "a\\b",
        ];
        let values = [
            "state.edu",
            "STATE.EDU",
            "cs.state.edu",
            "edu",
            "xedu",
            "lincoln.k12.ca.us",
            "school1.edu",
            "a.example",
            "c.example",
            "café.example",
            "https://cs.state.edu/about/us",
            "{a}.example",
            "!a.example",
            "a\\b",
            "",
        ];
        let options = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        for pattern in patterns {
            let ours = plain(pattern);
            let general = glob::Pattern::new(pattern).unwrap();
            for value in values {
                assert_eq!(
                    ours.matches(value),
                    general.matches_with(value, options),
                    "{pattern} ~ {value}"
                );
            }
        }
    }

    #[test]
    fn in_a_path_a_star_stays_within_a_segment_and_two_span_them() {
        let one = path("/v1/customers/*/qualifications");
        assert!(one.matches("/v1/customers/abc/qualifications"));
        assert!(one.matches("/V1/Customers/ABC/Qualifications"));
        assert!(!one.matches("/v1/customers/a/b/qualifications"));
        assert!(!one.matches("/v1/customers/abc/qualification"));
        let any = path("/v1/**");
        assert!(any.matches("/v1/customers/a/b/qualifications"));
        assert!(!any.matches("/webhooks/v1/registration"));
        assert!(path("/v1/customers/?bc").matches("/v1/customers/abc"));
        assert!(!path("/v1/customers?abc").matches("/v1/customers/abc"));
    }

    /// Patterns built to make a backtracking matcher take exponential time (the `glob` crate
    /// took hours on these) are answered at once: the test would not finish otherwise.
    #[test]
    fn costly_patterns_are_matched_without_backtracking() {
        let stars = format!("/v1/{}b", "*a".repeat(120));
        let value = format!("/v1/{}", "a".repeat(400));
        assert!(!path(&stars).matches(&value));
        assert!(!plain(&stars).matches(&value));
        let segments = format!("/{}x", "**/a*/".repeat(40));
        assert!(!path(&segments).matches(&"/a".repeat(300)));
    }

    #[test]
    fn patterns_are_bounded_and_checked() {
        let longest = format!("*{}", "a".repeat(MAX_GLOB_CHARS - 1));
        assert!(Glob::parse(&longest, Slash::Plain).is_ok());
        let longer = format!("{longest}a");
        let refused = Glob::parse(&longer, Slash::Plain).unwrap_err();
        assert!(refused.to_string().contains("longer than"), "{refused}");
        assert!(Glob::parse("  ", Slash::Plain).is_err());
        assert!(Glob::parse("a\u{0}b", Slash::Plain).is_err());
        assert!(Glob::parse("[ab", Slash::Separator).is_err());
    }
}
