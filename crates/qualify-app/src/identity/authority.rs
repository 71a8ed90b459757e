//! The tenant segment of Entra's paths: a tenant's id, or one of the multi-tenant authorities,
//! `organizations` and `common`, which stand for the tenant of whoever signs in (the
//! application's, here). MSAL and azure-identity are often configured with them.

use std::fmt;

use qualify_types::TenantId;

/// Whose tokens a path's tenant segment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// One tenant, by its id.
    Tenant(TenantId),
    /// Any work or school tenant.
    Organizations,
    /// Any tenant (Entra: and personal accounts, which Qualify has none of).
    Common,
}

impl Authority {
    /// The segment as a path carries it; `None` when it is neither a tenant id nor a
    /// multi-tenant authority.
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "organizations" => Some(Self::Organizations),
            "common" => Some(Self::Common),
            tenant => tenant.parse().ok().map(Self::Tenant),
        }
    }

    /// The one tenant it names, if it names one.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            Self::Tenant(tenant) => Some(tenant),
            Self::Organizations | Self::Common => None,
        }
    }
}

impl std::str::FromStr for Authority {
    type Err = ();

    fn from_str(segment: &str) -> Result<Self, ()> {
        Self::parse(segment).ok_or(())
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(tenant) => tenant.fmt(f),
            Self::Organizations => f.write_str("organizations"),
            Self::Common => f.write_str("common"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_a_tenant_id_or_a_multi_tenant_authority() {
        let tenant = "aaaaaaaa-0000-4000-8000-000000000001";
        assert_eq!(
            Authority::parse(tenant).and_then(Authority::tenant),
            tenant.parse().ok()
        );
        assert_eq!(
            Authority::parse("organizations"),
            Some(Authority::Organizations)
        );
        assert_eq!(Authority::parse("common"), Some(Authority::Common));
        for other in ["consumers", "Organizations", "contoso.onmicrosoft.com", ""] {
            assert_eq!(Authority::parse(other), None, "{other}");
        }
        assert_eq!(Authority::Common.to_string(), "common");
    }
}
