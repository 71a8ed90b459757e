//! The rules file: a TOML list of `[[rule]]` tables, read into a [`RuleSet`]. Every problem is
//! reported with the file, the line and why, so an operator can fix it without guessing.

use std::path::{Path, PathBuf};

use qualify_domain::{Rule, RuleSet, RuleSpec};
use serde::Deserialize;
use toml::Spanned;

/// A rules file that can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {why}", file.display())]
pub struct RulesFileError {
    /// The file.
    pub file: PathBuf,
    /// The line the problem is on (1 when it is the whole file's).
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

/// One or several values: `customer_domain = "*.edu"` or `["*.edu", "*.ac.uk"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// None given.
    #[default]
    None,
    /// One value.
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(value) => vec![value],
            Self::Many(values) => values,
        }
    }
}

/// A rule as the file writes it (and, in camelCase, the test control API's JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// Its name, unique in the file.
    pub name: String,
    /// `Education`, `GovernmentCommunityCloud` or `StateOwnedEntity`.
    #[serde(default)]
    pub qualification: Option<String>,
    /// Globs over the customer's domain.
    #[serde(default, alias = "customerDomain")]
    pub customer_domain: OneOrMany,
    /// Globs over the submitted website.
    #[serde(default)]
    pub website: OneOrMany,
    /// Partner tenant ids.
    #[serde(default)]
    pub partner: OneOrMany,
    /// `K12` or `HigherEducation`.
    #[serde(default, alias = "educationSegment")]
    pub education_segment: Option<String>,
    /// Globs over the GCC validation code.
    #[serde(default, alias = "validationCode")]
    pub validation_code: OneOrMany,
    /// `Approved`, `Denied` or `InReview`.
    pub decision: String,
    /// The denial's reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// A delay such as `2d` or `36h`.
    #[serde(default)]
    pub after: Option<String>,
}

impl RuleEntry {
    /// The rule it writes, checked.
    pub fn into_rule(self) -> Result<Rule, String> {
        let name = self.name.clone();
        let spec = RuleSpec {
            name: self.name,
            qualification: self
                .qualification
                .map(|q| q.parse().map_err(|e| format!("{e}")))
                .transpose()?,
            customer_domain: self.customer_domain.into_vec(),
            website: self.website.into_vec(),
            partner: self
                .partner
                .into_vec()
                .iter()
                .map(|p| {
                    p.parse()
                        .map_err(|_| format!("the partner '{p}' is not a tenant id (a GUID)"))
                })
                .collect::<Result<_, _>>()?,
            education_segment: self
                .education_segment
                .map(|s| s.parse().map_err(|e| format!("{e}")))
                .transpose()?,
            validation_code: self.validation_code.into_vec(),
            decision: self.decision,
            reason: self.reason,
            after: self
                .after
                .map(|after| {
                    humantime::parse_duration(&after).map_err(|e| {
                        format!("'after' = '{after}' is not a duration such as 2d or 36h: {e}")
                    })
                })
                .transpose()?,
        };
        Rule::new(spec).map_err(|e| format!("rule '{name}': {e}"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Spanned<RuleEntry>>,
}

/// The line of byte `offset` in `text`, from 1.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// Reads the rules in `text`, the contents of `file`.
pub(crate) fn parse_rules(file: &Path, text: &str) -> Result<RuleSet, RulesFileError> {
    let error = |line, why: String| RulesFileError {
        file: file.to_owned(),
        line,
        why,
    };
    let parsed: RulesFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |span| line_of(text, span.start));
        error(line, e.message().to_owned())
    })?;
    let mut lines = Vec::with_capacity(parsed.rule.len());
    let mut rules = Vec::with_capacity(parsed.rule.len());
    for entry in parsed.rule {
        let line = line_of(text, entry.span().start);
        rules.push(
            entry
                .into_inner()
                .into_rule()
                .map_err(|why| error(line, why))?,
        );
        lines.push(line);
    }
    RuleSet::new(rules).map_err(|(index, why)| error(lines[index], why.to_string()))
}

/// Reads the rules file at `path`.
pub fn read_rules_file(path: &Path) -> Result<RuleSet, RulesFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| RulesFileError {
        file: path.to_owned(),
        line: 1,
        why: format!("can't be read: {e}"),
    })?;
    parse_rules(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<RuleSet, RulesFileError> {
        parse_rules(Path::new("rules.toml"), text)
    }

    #[test]
    fn the_products_example_reads() {
        let rules = parsed(
            r#"
[[rule]]
name = "universities"                    # required, unique
qualification = "Education"              # optional
customer_domain = ["*.edu", "*.ac.uk"]   # optional globs over the customer's domain
website = ["*.edu"]                      # optional globs over the submitted website
decision = "Approved"
after = "2d"

[[rule]]
name = "free-mail"
customer_domain = "*.gmail.com"
decision = "Denied"
reason = "Not an Education Customer"
"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert!(parsed("").unwrap().is_empty(), "an empty file has no rules");
    }

    #[test]
    fn a_problem_is_reported_with_its_line_and_why() {
        let report = |text: &str| parsed(text).unwrap_err().to_string();
        let missing_reason = report(
            "[[rule]]\nname = \"ok\"\ndecision = \"Approved\"\n\n[[rule]]\nname = \"deny\"\ndecision = \"Denied\"\n",
        );
        // A rule's problem is reported at its [[rule]] header.
        assert!(
            missing_reason.starts_with("rules.toml:5: rule 'deny'"),
            "{missing_reason}"
        );
        assert!(missing_reason.contains("reason"), "{missing_reason}");
        let unknown_key = report(
            "[[rule]]\nname = \"x\"\ndecision = \"Approved\"\ncustomer_domian = \"*.edu\"\n",
        );
        assert!(unknown_key.starts_with("rules.toml:"), "{unknown_key}");
        assert!(unknown_key.contains("customer_domian"), "{unknown_key}");
        let syntax = report("[[rule]]\nname = \"x\ndecision = \"Approved\"\n");
        assert!(syntax.starts_with("rules.toml:2:"), "{syntax}");
        let twice = report(
            "[[rule]]\nname = \"x\"\ndecision = \"Approved\"\n[[rule]]\nname = \"x\"\ndecision = \"Approved\"\n",
        );
        assert!(twice.starts_with("rules.toml:4:"), "{twice}");
        let after = report("[[rule]]\nname = \"x\"\ndecision = \"Approved\"\nafter = \"soon\"\n");
        assert!(after.contains("'after' = 'soon'"), "{after}");
        let partner =
            report("[[rule]]\nname = \"x\"\ndecision = \"Approved\"\npartner = \"acme\"\n");
        assert!(partner.contains("not a tenant id"), "{partner}");
    }

    #[test]
    fn a_missing_file_is_reported_as_such() {
        let error = read_rules_file(Path::new("/nonexistent/rules.toml")).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.why.contains("can't be read"), "{error}");
    }
}
