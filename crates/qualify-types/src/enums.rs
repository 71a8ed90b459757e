//! The contract's enumerations. Partner Center is an ASP.NET service and reads enum values
//! case-insensitively, so every enum here parses any casing and prints the canonical name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not one of an enumeration's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEnumError {
    /// Which enumeration, as the contract names it (`qualification`, `educationSegment`, …).
    pub enumeration: &'static str,
    /// The value that was given.
    pub value: String,
    /// The accepted names.
    pub expected: &'static [&'static str],
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a valid {}; expected one of: {}",
            self.value,
            self.enumeration,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for ParseEnumError {}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $label:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every canonical name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The canonical name, as the contract prints it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($text) {
                    return Ok(Self::$variant);
                })+
                Err(ParseEnumError { enumeration: $label, value: s.to_owned(), expected: Self::NAMES })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::schema::string_enum(Self::NAMES, concat!("A ", $label, " (any casing is accepted)"))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum!(
    /// A qualification that Qualify vets.
    Qualification as "qualification" {
        Education = "Education",
        GovernmentCommunityCloud = "GovernmentCommunityCloud",
        StateOwnedEntity = "StateOwnedEntity",
    }
);

string_enum!(
    /// Partner Center's whole `CustomerQualification` enumeration, including the values that exist
    /// but can't be requested. The legacy endpoints send its integer values.
    QualificationChoice as "qualification" {
        None = "None",
        Education = "Education",
        Nonprofit = "Nonprofit",
        GovernmentCommunityCloud = "GovernmentCommunityCloud",
        StateOwnedEntity = "StateOwnedEntity",
    }
);

string_enum!(
    /// Where a vetting request stands.
    VettingStatus as "vettingStatus" {
        InReview = "InReview",
        Approved = "Approved",
        Denied = "Denied",
    }
);

string_enum!(
    /// The kind of education customer, required with an Education qualification.
    EducationSegment as "educationSegment" {
        K12 = "K12",
        HigherEducation = "HigherEducation",
    }
);

impl Qualification {
    /// The legacy singular endpoints' lower snake case form, e.g. `government_community_cloud`.
    pub fn legacy_name(self) -> &'static str {
        QualificationChoice::from(self).legacy_name()
    }
}

impl From<Qualification> for QualificationChoice {
    fn from(q: Qualification) -> Self {
        match q {
            Qualification::Education => Self::Education,
            Qualification::GovernmentCommunityCloud => Self::GovernmentCommunityCloud,
            Qualification::StateOwnedEntity => Self::StateOwnedEntity,
        }
    }
}

impl QualificationChoice {
    /// The value a client may request for vetting, `None` for `None` and `Nonprofit`.
    pub const fn requestable(self) -> Option<Qualification> {
        match self {
            Self::Education => Some(Qualification::Education),
            Self::GovernmentCommunityCloud => Some(Qualification::GovernmentCommunityCloud),
            Self::StateOwnedEntity => Some(Qualification::StateOwnedEntity),
            Self::None | Self::Nonprofit => None,
        }
    }

    /// The .NET enum's integer value (`None` = 0 … `StateOwnedEntity` = 4).
    pub const fn legacy_code(self) -> i64 {
        match self {
            Self::None => 0,
            Self::Education => 1,
            Self::Nonprofit => 2,
            Self::GovernmentCommunityCloud => 3,
            Self::StateOwnedEntity => 4,
        }
    }

    /// The value of a .NET enum integer.
    pub fn from_legacy_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|q| q.legacy_code() == code)
    }

    /// The legacy endpoints' lower snake case form.
    pub const fn legacy_name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Education => "education",
            Self::Nonprofit => "nonprofit",
            Self::GovernmentCommunityCloud => "government_community_cloud",
            Self::StateOwnedEntity => "state_owned_entity",
        }
    }

    /// Parses the legacy endpoints' string forms: any casing, with or without underscores
    /// (`government_community_cloud`, `GovernmentCommunityCloud`, `GOVERNMENTCOMMUNITYCLOUD`).
    pub fn parse_legacy(text: &str) -> Result<Self, ParseEnumError> {
        let squashed: String = text.trim().chars().filter(|c| *c != '_').collect();
        squashed.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_parse_in_any_casing_and_print_canonically() {
        assert_eq!("education".parse(), Ok(Qualification::Education));
        assert_eq!(
            "GOVERNMENTCOMMUNITYCLOUD".parse(),
            Ok(Qualification::GovernmentCommunityCloud)
        );
        assert_eq!(
            "higheReducation".parse(),
            Ok(EducationSegment::HigherEducation)
        );
        assert_eq!(VettingStatus::InReview.to_string(), "InReview");
    }

    #[test]
    fn an_unknown_value_names_the_enumeration_and_the_accepted_values() {
        let err = "Charity".parse::<Qualification>().unwrap_err();
        assert_eq!(err.enumeration, "qualification");
        assert!(
            err.to_string()
                .contains("Education, GovernmentCommunityCloud")
        );
    }

    #[test]
    fn none_and_nonprofit_exist_but_cannot_be_requested() {
        for name in ["none", "Nonprofit"] {
            let choice: QualificationChoice = name.parse().unwrap();
            assert_eq!(choice.requestable(), None);
            assert!(name.parse::<Qualification>().is_err());
        }
    }

    #[test]
    fn legacy_forms_round_trip_through_names_and_integers() {
        for choice in QualificationChoice::ALL {
            assert_eq!(
                QualificationChoice::parse_legacy(choice.legacy_name()),
                Ok(*choice)
            );
            assert_eq!(
                QualificationChoice::from_legacy_code(choice.legacy_code()),
                Some(*choice)
            );
        }
        assert_eq!(
            QualificationChoice::parse_legacy("State_Owned_Entity"),
            Ok(QualificationChoice::StateOwnedEntity)
        );
        assert_eq!(QualificationChoice::from_legacy_code(5), None);
    }
}
