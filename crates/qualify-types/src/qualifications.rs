//! The qualification resource: what GET lists, what POST takes and answers.

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::{EducationSegment, Qualification, Timestamp, VettingStatus};

/// One qualification of a customer and the state of its latest vetting request.
///
/// Serialises in the `documented` profile's shape (the seed's): the date is
/// `vettingCreatedDate`, and absent values are omitted, so an `Approved` item carries neither a
/// reason nor a date. Reading accepts the SDK's `vettingCreateDate` too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QualificationState {
    /// Which qualification.
    pub qualification: Qualification,
    /// Where its latest vetting request stands.
    pub vetting_status: VettingStatus,
    /// Why it was denied; only on `Denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
    /// When the latest vetting request was created; on `InReview` and `Denied`.
    #[serde(
        default,
        rename = "vettingCreatedDate",
        alias = "vettingCreateDate",
        skip_serializing_if = "Option::is_none"
    )]
    pub vetting_created_date: Option<Timestamp>,
}

/// `GET …/qualifications` in the `documented` profile: `{"qualifications": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Qualifications {
    /// One entry per qualification the customer has ever requested.
    pub qualifications: Vec<QualificationState>,
}

/// `GET …/qualifications` in the `sdk` profile: a bare array whose date is named
/// `vettingCreateDate`, which is what Microsoft's .NET SDK deserialises.
#[derive(Debug, Clone, Copy)]
pub struct SdkQualifications<'a>(pub &'a [QualificationState]);

impl Serialize for SdkQualifications<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct SdkItem<'a> {
            qualification: Qualification,
            vetting_status: VettingStatus,
            #[serde(skip_serializing_if = "Option::is_none")]
            vetting_reason: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            vetting_create_date: Option<Timestamp>,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for state in self.0 {
            seq.serialize_element(&SdkItem {
                qualification: state.qualification,
                vetting_status: state.vetting_status,
                vetting_reason: state.vetting_reason.as_deref(),
                vetting_create_date: state.vetting_created_date,
            })?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Qualifications {
    /// Reads either profile's shape, so a client works against a server in either.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Documented {
                qualifications: Vec<QualificationState>,
            },
            Sdk(Vec<QualificationState>),
        }
        Ok(match Shape::deserialize(deserializer)? {
            Shape::Documented { qualifications } | Shape::Sdk(qualifications) => {
                Self { qualifications }
            }
        })
    }
}

/// The body of `POST …/qualifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"qualification": "Education", "educationSegment": "K12", "website": "contoso.edu"})))]
#[serde(rename_all = "camelCase")]
pub struct QualificationSubmission {
    /// The qualification to vet.
    pub qualification: Qualification,
    /// Required with Education, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub education_segment: Option<EducationSegment>,
    /// Education only: the school's web site, e.g. `contoso.edu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// GovernmentCommunityCloud only: one of the partner's GCC validation codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "\\S"))]
    pub validation_code: Option<String>,
}

impl QualificationSubmission {
    /// A submission of `qualification` with no optional fields.
    pub fn new(qualification: Qualification) -> Self {
        Self {
            qualification,
            education_segment: None,
            website: None,
            validation_code: None,
        }
    }
}

/// The `201 Created` answer to `POST …/qualifications`. Its date is `vettingCreateDate` in both
/// profiles, as Microsoft's POST page names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubmittedQualification {
    /// The qualification submitted.
    pub qualification: Qualification,
    /// `InReview`; or, when a vetting rule decided the submission at once, its decision.
    pub vetting_status: VettingStatus,
    /// Why a vetting rule denied the submission at once; only on `Denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetting_reason: Option<String>,
    /// When the vetting request was created.
    pub vetting_create_date: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn denied() -> QualificationState {
        QualificationState {
            qualification: Qualification::Education,
            vetting_status: VettingStatus::Denied,
            vetting_reason: Some("Not an Education Customer".into()),
            vetting_created_date: Timestamp::from_unix_millis(1_606_991_858_885),
        }
    }

    #[test]
    fn the_documented_shape_wraps_the_list_and_names_the_date_vetting_created_date() {
        let body = Qualifications {
            qualifications: vec![denied()],
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"qualifications": [{
                "qualification": "Education",
                "vettingStatus": "Denied",
                "vettingReason": "Not an Education Customer",
                "vettingCreatedDate": "2020-12-03T10:37:38.885Z"
            }]})
        );
    }

    #[test]
    fn an_approved_item_carries_neither_reason_nor_date() {
        let approved = QualificationState {
            qualification: Qualification::Education,
            vetting_status: VettingStatus::Approved,
            vetting_reason: None,
            vetting_created_date: None,
        };
        assert_eq!(
            serde_json::to_string(&approved).unwrap(),
            r#"{"qualification":"Education","vettingStatus":"Approved"}"#
        );
    }

    #[test]
    fn the_sdk_shape_is_a_bare_array_with_vetting_create_date() {
        let items = [denied()];
        assert_eq!(
            serde_json::to_value(SdkQualifications(&items)).unwrap(),
            json!([{
                "qualification": "Education",
                "vettingStatus": "Denied",
                "vettingReason": "Not an Education Customer",
                "vettingCreateDate": "2020-12-03T10:37:38.885Z"
            }])
        );
    }

    #[test]
    fn a_client_reads_both_shapes_into_the_same_value() {
        let items = [denied()];
        let sdk = serde_json::to_string(&SdkQualifications(&items)).unwrap();
        let documented = serde_json::to_string(&Qualifications {
            qualifications: items.to_vec(),
        })
        .unwrap();
        let a: Qualifications = serde_json::from_str(&sdk).unwrap();
        let b: Qualifications = serde_json::from_str(&documented).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.qualifications, items);
    }
}
