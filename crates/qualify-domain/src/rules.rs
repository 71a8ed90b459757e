//! Which submissions a customer's history allows: no duplicates of a qualification that is in
//! review or approved, Education and GovernmentCommunityCloud never together, and a limited
//! number of vetting requests per qualification (Partner Center allows three).

use qualify_types::{Qualification, VettingStatus};

/// What the rules need to know of one earlier vetting request of the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorRequest {
    /// Its qualification.
    pub qualification: Qualification,
    /// Where it stands.
    pub status: VettingStatus,
    /// 1 for the first request of this qualification, 2 for the next, …
    pub attempt: u32,
}

/// The operator's limits on submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionPolicy {
    /// How many vetting requests a customer may have for one qualification, counting the first.
    pub max_requests_per_qualification: u32,
}

impl Default for SubmissionPolicy {
    /// Partner Center's limit: three verification requests per customer and qualification.
    fn default() -> Self {
        Self {
            max_requests_per_qualification: 3,
        }
    }
}

/// Why a submission is refused by the customer's history (or by the partner's GCC codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionRefused {
    /// The qualification is already in review or approved.
    #[error(
        "The customer's {qualification} qualification is already {status}; it can be submitted again only after it is Denied."
    )]
    AlreadySubmitted {
        /// The qualification submitted.
        qualification: Qualification,
        /// Where its latest request stands.
        status: VettingStatus,
    },
    /// The customer holds (or is being vetted for) a qualification that excludes this one.
    #[error(
        "The customer's {held} qualification is {status}; {requested} and {held} cannot both be held by one customer."
    )]
    Conflicting {
        /// The qualification submitted.
        requested: Qualification,
        /// The one the customer holds.
        held: Qualification,
        /// Where the held one stands.
        status: VettingStatus,
    },
    /// Every allowed vetting request for this qualification was used.
    #[error("The customer has used all {max} vetting requests allowed for {qualification}.")]
    LimitReached {
        /// The qualification submitted.
        qualification: Qualification,
        /// The limit.
        max: u32,
    },
    /// The GCC validation code is not one of the partner's.
    #[error("The validation code '{0}' is not one of your GCC validation codes.")]
    UnknownValidationCode(String),
    /// The GCC validation code has no creates left.
    #[error("The validation code '{0}' has no remaining creates.")]
    ValidationCodeExhausted(String),
}

/// Does holding one of these exclude holding the other?
fn excludes(a: Qualification, b: Qualification) -> bool {
    use Qualification::{Education, GovernmentCommunityCloud};
    matches!(
        (a, b),
        (Education, GovernmentCommunityCloud) | (GovernmentCommunityCloud, Education)
    )
}

/// The latest request of each qualification in `history` (whatever `prior` reads from each
/// entry), in the order the qualifications were first requested.
pub fn latest_per_qualification<T>(history: &[T], prior: impl Fn(&T) -> PriorRequest) -> Vec<&T> {
    let mut latest: Vec<(PriorRequest, &T)> = Vec::new();
    for entry in history {
        let request = prior(entry);
        match latest
            .iter_mut()
            .find(|(seen, _)| seen.qualification == request.qualification)
        {
            Some(slot) if slot.0.attempt < request.attempt => *slot = (request, entry),
            Some(_) => {}
            None => latest.push((request, entry)),
        }
    }
    latest.into_iter().map(|(_, entry)| entry).collect()
}

/// May the customer with `history` submit `requested`? On success, the attempt number the new
/// request gets.
pub fn check_submission(
    history: &[PriorRequest],
    requested: Qualification,
    policy: &SubmissionPolicy,
) -> Result<u32, SubmissionRefused> {
    let held =
        |status: VettingStatus| matches!(status, VettingStatus::InReview | VettingStatus::Approved);
    let latest = latest_per_qualification(history, |r| *r);
    if let Some(same) = latest
        .iter()
        .find(|r| r.qualification == requested && held(r.status))
    {
        return Err(SubmissionRefused::AlreadySubmitted {
            qualification: requested,
            status: same.status,
        });
    }
    if let Some(other) = latest
        .iter()
        .find(|r| excludes(r.qualification, requested) && held(r.status))
    {
        return Err(SubmissionRefused::Conflicting {
            requested,
            held: other.qualification,
            status: other.status,
        });
    }
    let used = history
        .iter()
        .filter(|r| r.qualification == requested)
        .map(|r| r.attempt)
        .max()
        .unwrap_or(0);
    if used >= policy.max_requests_per_qualification {
        return Err(SubmissionRefused::LimitReached {
            qualification: requested,
            max: policy.max_requests_per_qualification,
        });
    }
    Ok(used + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Qualification::*;
    use VettingStatus::*;

    fn prior(qualification: Qualification, status: VettingStatus, attempt: u32) -> PriorRequest {
        PriorRequest {
            qualification,
            status,
            attempt,
        }
    }

    fn check(history: &[PriorRequest], requested: Qualification) -> Result<u32, SubmissionRefused> {
        check_submission(history, requested, &SubmissionPolicy::default())
    }

    #[test]
    fn a_first_submission_is_attempt_one() {
        for q in Qualification::ALL {
            assert_eq!(check(&[], *q), Ok(1));
        }
    }

    #[test]
    fn in_review_or_approved_refuses_the_same_qualification() {
        for status in [InReview, Approved] {
            assert_eq!(
                check(&[prior(Education, status, 1)], Education),
                Err(SubmissionRefused::AlreadySubmitted {
                    qualification: Education,
                    status
                })
            );
        }
    }

    #[test]
    fn denied_allows_resubmission_up_to_the_limit() {
        let once = [prior(Education, Denied, 1)];
        assert_eq!(check(&once, Education), Ok(2));
        let twice = [prior(Education, Denied, 1), prior(Education, Denied, 2)];
        assert_eq!(check(&twice, Education), Ok(3));
        let thrice = [
            prior(Education, Denied, 1),
            prior(Education, Denied, 2),
            prior(Education, Denied, 3),
        ];
        assert_eq!(
            check(&thrice, Education),
            Err(SubmissionRefused::LimitReached {
                qualification: Education,
                max: 3
            })
        );
        let generous = SubmissionPolicy {
            max_requests_per_qualification: 4,
        };
        assert_eq!(check_submission(&thrice, Education, &generous), Ok(4));
    }

    #[test]
    fn education_and_gcc_exclude_each_other_while_held() {
        for status in [InReview, Approved] {
            assert_eq!(
                check(&[prior(Education, status, 1)], GovernmentCommunityCloud),
                Err(SubmissionRefused::Conflicting {
                    requested: GovernmentCommunityCloud,
                    held: Education,
                    status
                })
            );
            assert_eq!(
                check(&[prior(GovernmentCommunityCloud, status, 1)], Education),
                Err(SubmissionRefused::Conflicting {
                    requested: Education,
                    held: GovernmentCommunityCloud,
                    status
                })
            );
        }
        assert_eq!(
            check(&[prior(Education, Denied, 1)], GovernmentCommunityCloud),
            Ok(1)
        );
    }

    #[test]
    fn state_owned_entity_combines_with_either() {
        for q in [Education, GovernmentCommunityCloud] {
            assert_eq!(check(&[prior(q, Approved, 1)], StateOwnedEntity), Ok(1));
            assert_eq!(check(&[prior(StateOwnedEntity, Approved, 1)], q), Ok(1));
        }
    }

    #[test]
    fn the_latest_request_of_each_qualification_speaks_for_it() {
        let history = [
            prior(StateOwnedEntity, InReview, 1),
            prior(Education, Denied, 1),
            prior(Education, Approved, 2),
        ];
        assert_eq!(
            latest_per_qualification(&history, |r| *r),
            vec![
                &prior(StateOwnedEntity, InReview, 1),
                &prior(Education, Approved, 2)
            ]
        );
        assert_eq!(
            check(&history, Education),
            Err(SubmissionRefused::AlreadySubmitted {
                qualification: Education,
                status: Approved
            })
        );
    }
}
