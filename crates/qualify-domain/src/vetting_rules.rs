//! Vetting rules: decisions made without a reviewer. Each [`Rule`] says which submissions it
//! matches (the qualification, the customer's domain and the website by glob, the partner, the
//! education segment, the GCC code) and what it decides (approve, deny with a reason, or leave
//! it to a reviewer), at once or after a delay. In a [`RuleSet`] the first rule that matches a
//! submission decides it; a submission no rule matches waits for a reviewer.

use std::time::Duration;

use qualify_types::{EducationSegment, Qualification, TenantId};

use crate::glob::{Glob, Slash};
use crate::submission::Submission;
use crate::values::{DenialReason, Website};

/// The longest a rule may wait before it decides: longer is a mistake, not a policy.
pub const MAX_DELAY: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
/// The longest rule name.
pub const MAX_NAME: usize = 64;

/// What a rule decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleDecision {
    /// Qualify the customer.
    Approve,
    /// Refuse, with the reason the partner reads.
    Deny(DenialReason),
    /// Leave it in review, for a reviewer.
    Hold,
}

/// A rule as written, before it is checked: what the rules file and the test control API carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSpec {
    /// Its name, unique in its set; decisions it makes are `decidedBy` `rule:<name>`.
    pub name: String,
    /// Only submissions of this qualification.
    pub qualification: Option<Qualification>,
    /// Only customers whose domain matches one of these.
    pub customer_domain: Vec<String>,
    /// Only submissions whose website matches one of these (its host name, or its text as
    /// written); a submission without a website never matches.
    pub website: Vec<String>,
    /// Only these partners' submissions.
    pub partner: Vec<TenantId>,
    /// Only Education submissions of this segment.
    pub education_segment: Option<EducationSegment>,
    /// Only GCC submissions whose validation code matches one of these.
    pub validation_code: Vec<String>,
    /// `Approved`, `Denied` or `InReview`.
    pub decision: String,
    /// The denial's reason: required with `Denied`, refused otherwise.
    pub reason: Option<String>,
    /// How long after the submission the decision is made; absent, at once.
    pub after: Option<Duration>,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    name: String,
    qualification: Option<Qualification>,
    customer_domain: Vec<Glob>,
    website: Vec<Glob>,
    partner: Vec<TenantId>,
    education_segment: Option<EducationSegment>,
    validation_code: Vec<Glob>,
    decision: RuleDecision,
    after: Option<Duration>,
}

/// Why a rule (or a set of them) is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(String);

impl RuleError {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

fn globs(patterns: &[String]) -> Result<Vec<Glob>, RuleError> {
    patterns
        .iter()
        .map(|p| Glob::parse(p, Slash::Plain).map_err(|e| RuleError::new(e.to_string())))
        .collect()
}

impl Rule {
    /// Checks `spec`: a name of letters, digits, `.`, `_` and `-`; a reason exactly when it
    /// denies; a delay only when it decides, and less than [`MAX_DELAY`]; no condition that no
    /// submission of its qualification could meet.
    pub fn new(spec: RuleSpec) -> Result<Self, RuleError> {
        let name = spec.name.trim().to_owned();
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return Err(RuleError::new(format!(
                "the name '{name}' must be 1 to {MAX_NAME} letters, digits, '.', '_' or '-'"
            )));
        }
        let decision = match (spec.decision.as_str(), spec.reason.as_deref()) {
            ("Approved", None) => RuleDecision::Approve,
            ("InReview", None) => RuleDecision::Hold,
            ("Denied", Some(reason)) => RuleDecision::Deny(
                DenialReason::parse(reason).map_err(|e| RuleError::new(e.to_string()))?,
            ),
            ("Denied", None) => {
                return Err(RuleError::new(
                    "a rule that denies needs a reason (the partner reads it)",
                ));
            }
            ("Approved" | "InReview", Some(_)) => {
                return Err(RuleError::new("a reason is given only with Denied"));
            }
            (other, _) => {
                return Err(RuleError::new(format!(
                    "the decision '{other}' is not Approved, Denied or InReview"
                )));
            }
        };
        if let Some(after) = spec.after {
            if decision == RuleDecision::Hold {
                return Err(RuleError::new(
                    "'after' delays a decision; InReview leaves the request to a reviewer",
                ));
            }
            if after.is_zero() || after > MAX_DELAY {
                return Err(RuleError::new(
                    "'after' must be more than nothing and less than ten years",
                ));
            }
        }
        let only = |set: bool, property: &str, which: Qualification| match spec.qualification {
            Some(q) if set && q != which => Err(RuleError::new(format!(
                "'{property}' applies only to {which}; this rule is for {q}"
            ))),
            _ => Ok(()),
        };
        only(
            !spec.website.is_empty(),
            "website",
            Qualification::Education,
        )?;
        only(
            spec.education_segment.is_some(),
            "education_segment",
            Qualification::Education,
        )?;
        only(
            !spec.validation_code.is_empty(),
            "validation_code",
            Qualification::GovernmentCommunityCloud,
        )?;
        Ok(Self {
            name,
            qualification: spec.qualification,
            customer_domain: globs(&spec.customer_domain)?,
            website: globs(&spec.website)?,
            partner: spec.partner,
            education_segment: spec.education_segment,
            validation_code: globs(&spec.validation_code)?,
            decision,
            after: spec.after,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it decides.
    pub fn decision(&self) -> &RuleDecision {
        &self.decision
    }

    /// How long after the submission it decides; `None`, at once.
    pub fn after(&self) -> Option<Duration> {
        self.after
    }

    /// Does `facts` meet every condition of this rule?
    pub fn matches(&self, facts: &Facts<'_>) -> bool {
        let submission = facts.submission;
        let any = |globs: &[Glob], value: Option<&str>| {
            globs.is_empty() || value.is_some_and(|v| globs.iter().any(|g| g.matches(v)))
        };
        self.qualification
            .is_none_or(|q| q == submission.qualification())
            && (self.partner.is_empty() || self.partner.contains(&facts.partner))
            && self
                .education_segment
                .is_none_or(|s| submission.education_segment() == Some(s))
            && any(&self.customer_domain, Some(facts.customer_domain))
            && (self.website.is_empty()
                || submission
                    .website()
                    .is_some_and(|website| website_matches(&self.website, website)))
            && any(
                &self.validation_code,
                submission.validation_code().map(|c| c.as_str()),
            )
    }
}

/// A website matches by its host name, or by its text as the partner wrote it.
fn website_matches(globs: &[Glob], website: &Website) -> bool {
    let host = website.host();
    globs
        .iter()
        .any(|g| g.matches(website.as_str()) || host.as_deref().is_some_and(|h| g.matches(h)))
}

/// What a rule can know of a submission.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The submitting partner.
    pub partner: TenantId,
    /// The customer's domain.
    pub customer_domain: &'a str,
    /// What was submitted.
    pub submission: &'a Submission,
}

/// Rules in order; names unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// `rules`, in the order they are tried; two with one name are refused (the second's index
    /// is in the error's position).
    pub fn new(rules: Vec<Rule>) -> Result<Self, (usize, RuleError)> {
        for (index, rule) in rules.iter().enumerate() {
            if rules[..index].iter().any(|r| r.name == rule.name) {
                return Err((
                    index,
                    RuleError::new(format!("another rule is named '{}'", rule.name)),
                ));
            }
        }
        Ok(Self { rules })
    }

    /// The first rule that matches `facts`, if any.
    pub fn first_match(&self, facts: &Facts<'_>) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.matches(facts))
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests;
