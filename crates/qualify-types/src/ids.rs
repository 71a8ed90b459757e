//! GUID identifiers of tenants, customers and vetting requests, each its own type so a customer
//! id can't be passed where a tenant id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIdError;

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a GUID")
    }
}

impl std::error::Error for ParseIdError {}

macro_rules! guid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (version 4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing GUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The GUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            /// Accepts any GUID spelling (hyphenated, braced, any case); prints hyphenated
            /// lower case, as Partner Center does.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s.trim()).map(Self).map_err(|_| ParseIdError)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::schema::formatted_string(utoipa::openapi::schema::KnownFormat::Uuid, stringify!($name))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

guid_id!(
    /// An Entra tenant: a partner's, the operator's, or (as [`CustomerId`]) a customer's.
    TenantId
);
guid_id!(
    /// A customer, which Partner Center identifies by the customer's tenant id.
    CustomerId
);
guid_id!(
    /// One vetting request: a single submission of a qualification and its outcome.
    VettingRequestId
);

impl VettingRequestId {
    /// A new time-ordered (version 7) id, for a request made now. Requests made one after
    /// another get ids that sort together, so each lands at the end of the indexes keyed by it
    /// rather than on a random page of each: fewer pages written per submission.
    pub fn time_ordered() -> Self {
        Self(Uuid::now_v7())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_any_guid_spelling_and_print_lower_case_hyphenated() {
        let id: CustomerId = "{0A1B2C3D-0000-4000-8000-00000000000F}".parse().unwrap();
        assert_eq!(id.to_string(), "0a1b2c3d-0000-4000-8000-00000000000f");
    }

    #[test]
    fn time_ordered_request_ids_sort_as_stored_in_the_order_they_were_made() {
        // The database keys requests by the id's text: that is the order that must hold.
        let ids: Vec<String> = (0..10_000)
            .map(|_| VettingRequestId::time_ordered().to_string())
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(
            VettingRequestId::time_ordered().as_uuid().get_version_num(),
            7
        );
    }

    #[test]
    fn a_non_guid_is_refused() {
        assert_eq!("not-a-guid".parse::<TenantId>(), Err(ParseIdError));
        assert_eq!("".parse::<TenantId>(), Err(ParseIdError));
    }
}
