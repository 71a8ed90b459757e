//! The well-known development identities that `qualify serve --dev` seeds, like Azurite's
//! well-known storage account: fixed and documented, so every machine's test suite can use them,
//! and refused by a server running without `--dev`.

/// One well-known tenant with its application and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevIdentity {
    /// Short name, as `--dev-identity` takes it.
    pub name: &'static str,
    /// Display name of the tenant.
    pub display_name: &'static str,
    /// The tenant id.
    pub tenant_id: &'static str,
    /// The application's client id.
    pub client_id: &'static str,
    /// The application's secret.
    pub client_secret: &'static str,
    /// The user's sign-in name.
    pub username: &'static str,
    /// The user's password.
    pub password: &'static str,
}

/// Partner A, which also holds the GCC validation code [`PARTNER_A_VALIDATION_CODE`].
pub const PARTNER_A: DevIdentity = DevIdentity {
    name: "partner-a",
    display_name: "Partner A (dev)",
    tenant_id: "aaaaaaaa-0000-4000-8000-000000000001",
    client_id: "aaaaaaaa-0000-4000-8000-0000000000a1",
    client_secret: "dev-app-secret-a",
    username: "admin@partner-a.test",
    password: "dev-user-password-a",
};

/// Partner B.
pub const PARTNER_B: DevIdentity = DevIdentity {
    name: "partner-b",
    display_name: "Partner B (dev)",
    tenant_id: "bbbbbbbb-0000-4000-8000-000000000001",
    client_id: "bbbbbbbb-0000-4000-8000-0000000000b1",
    client_secret: "dev-app-secret-b",
    username: "admin@partner-b.test",
    password: "dev-user-password-b",
};

/// The operator (the vetting organisation); its user is a reviewer.
pub const OPERATOR: DevIdentity = DevIdentity {
    name: "operator",
    display_name: "Operator (dev)",
    tenant_id: "99999999-0000-4000-8000-000000000001",
    client_id: "99999999-0000-4000-8000-0000000000f1",
    client_secret: "dev-app-secret-operator",
    username: "reviewer@operator.test",
    password: "dev-reviewer-password",
};

/// Every well-known identity.
pub const ALL: [DevIdentity; 3] = [PARTNER_A, PARTNER_B, OPERATOR];

/// Partner A's GCC validation code.
pub const PARTNER_A_VALIDATION_CODE: &str = "100001";
/// How many customers it may qualify.
pub const PARTNER_A_VALIDATION_CODE_MAX_CREATES: u32 = 5;

/// The identity named `name` (`partner-a`, `partner-b`, `operator`).
pub fn by_name(name: &str) -> Option<DevIdentity> {
    ALL.into_iter()
        .find(|identity| identity.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_well_known_id_is_a_guid() {
        for identity in ALL {
            assert!(identity.tenant_id.parse::<crate::TenantId>().is_ok());
            assert!(uuid::Uuid::try_parse(identity.client_id).is_ok());
            assert_eq!(by_name(identity.name), Some(identity));
        }
    }
}
