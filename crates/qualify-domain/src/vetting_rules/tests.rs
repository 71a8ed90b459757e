//! Rules × submissions → decision: first match wins, globs, missing fields, every decision kind.

use std::time::Duration;

use qualify_types::{EducationSegment, Qualification, TenantId};

use super::*;
use crate::values::ValidationCodeValue;

fn spec(name: &str, decision: &str) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        decision: decision.into(),
        ..RuleSpec::default()
    }
}

fn rule(spec: RuleSpec) -> Rule {
    Rule::new(spec).unwrap()
}

fn education(segment: EducationSegment, website: Option<&str>) -> Submission {
    Submission::from_api(
        Qualification::Education,
        Some(segment),
        website.map(|w| Website::parse(w).unwrap()),
        None,
    )
    .unwrap()
}

fn gcc(code: &str) -> Submission {
    Submission::from_api(
        Qualification::GovernmentCommunityCloud,
        None,
        None,
        Some(ValidationCodeValue::parse(code).unwrap()),
    )
    .unwrap()
}

fn soe() -> Submission {
    Submission::from_api(Qualification::StateOwnedEntity, None, None, None).unwrap()
}

fn tenant(id: &str) -> TenantId {
    id.parse().unwrap()
}

fn partner() -> TenantId {
    tenant("aaaaaaaa-0000-4000-8000-000000000001")
}

fn other_partner() -> TenantId {
    tenant("bbbbbbbb-0000-4000-8000-000000000001")
}

/// The name of the rule of `set` that decides `submission` by `partner` for `domain`.
fn decided_by(
    set: &RuleSet,
    partner: TenantId,
    domain: &str,
    submission: &Submission,
) -> Option<String> {
    let facts = Facts {
        partner,
        customer_domain: domain,
        submission,
    };
    set.first_match(&facts).map(|r| r.name().to_owned())
}

/// An operator's set: universities approved after two days, free mail denied, GCC of one code
/// approved at once, partner B's submissions held, the rest to reviewers.
fn operator_rules() -> RuleSet {
    RuleSet::new(vec![
        rule(RuleSpec {
            customer_domain: vec!["*.gmail.com".into(), "*.outlook.com".into()],
            reason: Some("Not an Education Customer".into()),
            ..spec("free-mail", "Denied")
        }),
        rule(RuleSpec {
            partner: vec![other_partner()],
            ..spec("partner-b-by-hand", "InReview")
        }),
        rule(RuleSpec {
            qualification: Some(Qualification::Education),
            customer_domain: vec!["*.edu".into(), "*.ac.uk".into()],
            education_segment: Some(EducationSegment::HigherEducation),
            after: Some(Duration::from_secs(2 * 24 * 3600)),
            ..spec("universities", "Approved")
        }),
        rule(RuleSpec {
            qualification: Some(Qualification::Education),
            website: vec!["*.k12.*.us".into()],
            ..spec("us-schools", "Approved")
        }),
        rule(RuleSpec {
            qualification: Some(Qualification::GovernmentCommunityCloud),
            validation_code: vec!["1000??".into()],
            ..spec("city-codes", "Approved")
        }),
    ])
    .unwrap()
}

#[test]
fn the_first_matching_rule_decides() {
    let set = operator_rules();
    let higher = education(EducationSegment::HigherEducation, None);
    let k12 = education(
        EducationSegment::K12,
        Some("https://www.Lincoln.K12.ca.us/about"),
    );
    let table: &[(&str, TenantId, &Submission, Option<&str>)] = &[
        // Free mail comes first, whatever else matches.
        ("school.gmail.com", partner(), &higher, Some("free-mail")),
        ("STUDENTS.OUTLOOK.COM", partner(), &soe(), Some("free-mail")),
        // Partner B is held before the university rule can approve it.
        (
            "state.edu",
            other_partner(),
            &higher,
            Some("partner-b-by-hand"),
        ),
        ("state.edu", partner(), &higher, Some("universities")),
        ("oxford.ac.uk", partner(), &higher, Some("universities")),
        // The segment must match: a K12 school on .edu is not a university.
        ("state.edu", partner(), &k12, Some("us-schools")),
        // The website's host matches, in any case.
        ("lincoln.example", partner(), &k12, Some("us-schools")),
        (
            "city.example",
            partner(),
            &gcc("100001"),
            Some("city-codes"),
        ),
        ("city.example", partner(), &gcc("200001"), None),
        // No rule: a reviewer decides.
        ("contoso.example", partner(), &soe(), None),
        (
            "contoso.example",
            partner(),
            &education(EducationSegment::K12, None),
            None,
        ),
    ];
    for (domain, partner, submission, expected) in table {
        assert_eq!(
            decided_by(&set, *partner, domain, submission).as_deref(),
            *expected,
            "{domain} {submission:?}"
        );
    }
}

#[test]
fn a_condition_on_a_missing_field_does_not_match() {
    let website_rule = RuleSet::new(vec![rule(RuleSpec {
        website: vec!["*".into()],
        ..spec("any-website", "Approved")
    })])
    .unwrap();
    let without = education(EducationSegment::K12, None);
    assert_eq!(
        decided_by(&website_rule, partner(), "a.example", &without),
        None
    );
    let with = education(EducationSegment::K12, Some("a.example"));
    assert_eq!(
        decided_by(&website_rule, partner(), "a.example", &with).as_deref(),
        Some("any-website")
    );
    let code_rule = RuleSet::new(vec![rule(RuleSpec {
        validation_code: vec!["*".into()],
        ..spec("any-code", "Approved")
    })])
    .unwrap();
    assert_eq!(decided_by(&code_rule, partner(), "a.example", &soe()), None);
    let segment_rule = RuleSet::new(vec![rule(RuleSpec {
        education_segment: Some(EducationSegment::K12),
        ..spec("k12", "Approved")
    })])
    .unwrap();
    assert_eq!(
        decided_by(&segment_rule, partner(), "a.example", &soe()),
        None
    );
}

#[test]
fn a_rule_without_conditions_matches_everything() {
    let set = RuleSet::new(vec![rule(spec("everyone", "InReview"))]).unwrap();
    for submission in [soe(), gcc("1"), education(EducationSegment::K12, None)] {
        assert_eq!(
            decided_by(&set, partner(), "x.example", &submission).as_deref(),
            Some("everyone")
        );
    }
}

#[test]
fn every_decision_kind_reads_as_written() {
    let approve = rule(spec("a", "Approved"));
    assert_eq!(approve.decision(), &RuleDecision::Approve);
    assert_eq!(approve.after(), None);
    let deny = rule(RuleSpec {
        reason: Some("Not an Academic Domain".into()),
        after: Some(Duration::from_secs(3 * 24 * 3600)),
        ..spec("d", "Denied")
    });
    assert_eq!(
        deny.decision(),
        &RuleDecision::Deny(DenialReason::parse("Not an Academic Domain").unwrap())
    );
    assert_eq!(deny.after(), Some(Duration::from_secs(3 * 24 * 3600)));
    assert_eq!(rule(spec("h", "InReview")).decision(), &RuleDecision::Hold);
}

#[test]
fn rules_that_make_no_sense_are_refused_with_why() {
    let refused = |spec: RuleSpec, why: &str| {
        let error = Rule::new(spec).unwrap_err().to_string();
        assert!(error.contains(why), "{error} (expected '{why}')");
    };
    refused(spec("", "Approved"), "name");
    refused(spec("has space", "Approved"), "name");
    refused(spec("x", "approve"), "not Approved, Denied or InReview");
    refused(spec("x", "Denied"), "needs a reason");
    refused(
        RuleSpec {
            reason: Some("why".into()),
            ..spec("x", "Approved")
        },
        "only with Denied",
    );
    refused(
        RuleSpec {
            after: Some(Duration::from_secs(60)),
            ..spec("x", "InReview")
        },
        "reviewer",
    );
    refused(
        RuleSpec {
            after: Some(Duration::ZERO),
            ..spec("x", "Approved")
        },
        "more than nothing",
    );
    refused(
        RuleSpec {
            after: Some(MAX_DELAY + Duration::from_secs(1)),
            ..spec("x", "Approved")
        },
        "ten years",
    );
    refused(
        RuleSpec {
            customer_domain: vec!["[unclosed".into()],
            ..spec("x", "Approved")
        },
        "not valid",
    );
    refused(
        RuleSpec {
            qualification: Some(Qualification::StateOwnedEntity),
            website: vec!["*.edu".into()],
            ..spec("x", "Approved")
        },
        "'website' applies only to Education",
    );
    refused(
        RuleSpec {
            qualification: Some(Qualification::Education),
            validation_code: vec!["1".into()],
            ..spec("x", "Approved")
        },
        "'validation_code' applies only to GovernmentCommunityCloud",
    );
    let twice = RuleSet::new(vec![
        rule(spec("same", "Approved")),
        rule(spec("same", "InReview")),
    ]);
    assert_eq!(twice.unwrap_err().0, 1, "the second of the two is named");
}
