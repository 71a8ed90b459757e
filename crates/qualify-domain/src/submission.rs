//! A submission for vetting, checked for internal consistency: each qualification carries
//! exactly the details it needs, and none it doesn't.

use qualify_types::{EducationSegment, Qualification, SubmissionChannel};

use crate::values::{InvalidValue, ValidationCodeValue, Website};

/// The details that come with each qualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionDetails {
    /// Education: a segment (always through the current API; never through the legacy one,
    /// which predates segments) and optionally the school's web site.
    Education {
        /// K12 or HigherEducation.
        segment: Option<EducationSegment>,
        /// The school's web site.
        website: Option<Website>,
    },
    /// GovernmentCommunityCloud, with one of the partner's validation codes.
    GovernmentCommunityCloud {
        /// The code that pays for this submission.
        validation_code: ValidationCodeValue,
    },
    /// StateOwnedEntity, which needs no details.
    StateOwnedEntity,
}

/// A consistent request to vet one qualification of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    details: SubmissionDetails,
    channel: SubmissionChannel,
}

impl Submission {
    /// A submission through `POST …/qualifications`: Education needs a segment, GCC a code,
    /// and no qualification takes another's details.
    pub fn from_api(
        qualification: Qualification,
        education_segment: Option<EducationSegment>,
        website: Option<Website>,
        validation_code: Option<ValidationCodeValue>,
    ) -> Result<Self, InvalidValue> {
        if education_segment.is_none() && qualification == Qualification::Education {
            return Err(InvalidValue::new(
                "educationSegment",
                "is required with Education (K12 or HigherEducation)",
            ));
        }
        Self::build(
            qualification,
            education_segment,
            website,
            validation_code,
            SubmissionChannel::Api,
        )
    }

    /// A submission through the legacy `PUT …/qualification`, which carries no education details.
    pub fn from_legacy(
        qualification: Qualification,
        validation_code: Option<ValidationCodeValue>,
    ) -> Result<Self, InvalidValue> {
        Self::build(
            qualification,
            None,
            None,
            validation_code,
            SubmissionChannel::Legacy,
        )
    }

    fn build(
        qualification: Qualification,
        education_segment: Option<EducationSegment>,
        website: Option<Website>,
        validation_code: Option<ValidationCodeValue>,
        channel: SubmissionChannel,
    ) -> Result<Self, InvalidValue> {
        let only_for = |property, which| {
            InvalidValue::new(property, format!("applies only to {which}; remove it"))
        };
        if qualification != Qualification::Education {
            if education_segment.is_some() {
                return Err(only_for("educationSegment", "Education"));
            }
            if website.is_some() {
                return Err(only_for("website", "Education"));
            }
        }
        if qualification != Qualification::GovernmentCommunityCloud && validation_code.is_some() {
            return Err(only_for("validationCode", "GovernmentCommunityCloud"));
        }
        let details = match qualification {
            Qualification::Education => {
                SubmissionDetails::Education { segment: education_segment, website }
            }
            Qualification::GovernmentCommunityCloud => {
                SubmissionDetails::GovernmentCommunityCloud {
                    validation_code: validation_code.ok_or_else(|| {
                        InvalidValue::new(
                            "validationCode",
                            "is required with GovernmentCommunityCloud (one of your GCC validation codes)",
                        )
                    })?,
                }
            }
            Qualification::StateOwnedEntity => SubmissionDetails::StateOwnedEntity,
        };
        Ok(Self { details, channel })
    }

    /// The qualification to vet.
    pub fn qualification(&self) -> Qualification {
        match self.details {
            SubmissionDetails::Education { .. } => Qualification::Education,
            SubmissionDetails::GovernmentCommunityCloud { .. } => {
                Qualification::GovernmentCommunityCloud
            }
            SubmissionDetails::StateOwnedEntity => Qualification::StateOwnedEntity,
        }
    }

    /// The details.
    pub fn details(&self) -> &SubmissionDetails {
        &self.details
    }

    /// How it was submitted.
    pub fn channel(&self) -> SubmissionChannel {
        self.channel
    }

    /// The education segment, for Education.
    pub fn education_segment(&self) -> Option<EducationSegment> {
        match &self.details {
            SubmissionDetails::Education { segment, .. } => *segment,
            _ => None,
        }
    }

    /// The web site, for Education.
    pub fn website(&self) -> Option<&Website> {
        match &self.details {
            SubmissionDetails::Education { website, .. } => website.as_ref(),
            _ => None,
        }
    }

    /// The validation code, for GovernmentCommunityCloud.
    pub fn validation_code(&self) -> Option<&ValidationCodeValue> {
        match &self.details {
            SubmissionDetails::GovernmentCommunityCloud { validation_code } => {
                Some(validation_code)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Qualification::*;

    fn code() -> Option<ValidationCodeValue> {
        Some(ValidationCodeValue::parse("100001").unwrap())
    }

    fn site() -> Option<Website> {
        Some(Website::parse("contoso.edu").unwrap())
    }

    /// One row of the rules table: what is submitted, and the property refused (if any).
    type Case = (
        Qualification,
        Option<EducationSegment>,
        Option<Website>,
        Option<ValidationCodeValue>,
        Result<(), &'static str>,
    );

    /// The submission rules table: each qualification with each combination of details.
    #[test]
    fn each_qualification_takes_exactly_its_own_details() {
        let k12 = Some(EducationSegment::K12);
        let cases: &[Case] = &[
            (Education, k12, None, None, Ok(())),
            (Education, k12, site(), None, Ok(())),
            (Education, None, site(), None, Err("educationSegment")),
            (Education, k12, None, code(), Err("validationCode")),
            (GovernmentCommunityCloud, None, None, code(), Ok(())),
            (
                GovernmentCommunityCloud,
                None,
                None,
                None,
                Err("validationCode"),
            ),
            (
                GovernmentCommunityCloud,
                k12,
                None,
                code(),
                Err("educationSegment"),
            ),
            (
                GovernmentCommunityCloud,
                None,
                site(),
                code(),
                Err("website"),
            ),
            (StateOwnedEntity, None, None, None, Ok(())),
            (StateOwnedEntity, k12, None, None, Err("educationSegment")),
            (StateOwnedEntity, None, site(), None, Err("website")),
            (StateOwnedEntity, None, None, code(), Err("validationCode")),
        ];
        for (qualification, segment, website, code, expected) in cases {
            let got = Submission::from_api(*qualification, *segment, website.clone(), code.clone());
            match expected {
                Ok(()) => assert_eq!(got.unwrap().qualification(), *qualification),
                Err(property) => {
                    assert_eq!(got.unwrap_err().property, *property, "{qualification}")
                }
            }
        }
    }

    #[test]
    fn a_legacy_education_submission_carries_no_segment() {
        let submission = Submission::from_legacy(Education, None).unwrap();
        assert_eq!(submission.education_segment(), None);
        assert_eq!(submission.channel(), SubmissionChannel::Legacy);
        assert_eq!(
            Submission::from_legacy(GovernmentCommunityCloud, None)
                .unwrap_err()
                .property,
            "validationCode"
        );
    }
}
