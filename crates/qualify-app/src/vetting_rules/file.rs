//! The rules file: a TOML list of `[[rule]]` tables, read into a [`RuleSet`]. Every problem is
//! reported with the file, the line and why, so an operator can fix it without guessing.

use std::path::{Path, PathBuf};

use qualify_domain::{Rule, RuleSet, RuleSpec};
use qualify_types::VettingRule;
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

/// The checked rule `entry` writes.
pub fn rule_from(entry: VettingRule) -> Result<Rule, String> {
    let name = entry.name.clone();
    let spec = RuleSpec {
        name: entry.name,
        qualification: entry
            .qualification
            .map(|q| q.parse().map_err(|e| format!("rule '{name}': {e}")))
            .transpose()?,
        customer_domain: entry.customer_domain,
        website: entry.website,
        partner: entry
            .partner
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|_| format!("rule '{name}': the partner '{p}' is not a tenant id (a GUID)"))
            })
            .collect::<Result<_, _>>()?,
        education_segment: entry
            .education_segment
            .map(|s| s.parse().map_err(|e| format!("rule '{name}': {e}")))
            .transpose()?,
        validation_code: entry.validation_code,
        decision: entry.decision,
        reason: entry.reason,
        after: entry
            .after
            .map(|after| {
                humantime::parse_duration(&after).map_err(|e| {
                    format!("rule '{name}': 'after' = '{after}' is not a duration such as 2d or 36h: {e}")
                })
            })
            .transpose()?,
    };
    Rule::new(spec).map_err(|e| format!("rule '{name}': {e}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Spanned<VettingRule>>,
}

/// The line of byte `offset` in `text`, from 1.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// Reads the rules in `text`, the contents of `file`.
pub fn parse_rules(file: &Path, text: &str) -> Result<RuleSet, RulesFileError> {
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
        let entry = entry.into_inner();
        if entry.times.is_some() {
            return Err(error(
                line,
                format!(
                    "rule '{}': 'times' is for a test's own rules (PUT /test/v1/rules); the file's rules apply to every partner",
                    entry.name
                ),
            ));
        }
        rules.push(rule_from(entry).map_err(|why| error(line, why))?);
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
        let times = report("[[rule]]\nname = \"x\"\ndecision = \"Approved\"\ntimes = 1\n");
        assert!(
            times.contains("'times' is for a test's own rules"),
            "{times}"
        );
    }

    #[test]
    fn a_missing_file_is_reported_as_such() {
        let error = read_rules_file(Path::new("/nonexistent/rules.toml")).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.why.contains("can't be read"), "{error}");
    }
}
