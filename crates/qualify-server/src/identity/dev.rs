//! Seeding the well-known development identities (`qualify_types::dev`) into the database when
//! the server starts with `--dev`. Seeding is idempotent. The rows are marked as development
//! identities, which is how a server started without `--dev` on the same database knows to
//! refuse them.

use qualify_store::{
    NewApp, NewTenant, NewUser, NewValidationCode, Store, StoreError, TenantKind, UserRole,
};
use qualify_types::{TenantId, Timestamp, dev};
use uuid::Uuid;

use super::passwords::hash_well_known;

/// A user object id derived from the user name, so it is the same on every machine.
fn user_object_id(identity: &dev::DevIdentity) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, identity.username.as_bytes())
}

fn parse_constant<T: std::str::FromStr>(value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Internal {
        context: "parsing a well-known id",
        source: value.to_owned().into(),
    })
}

/// Seeds every well-known identity and partner A's validation code.
pub async fn seed(store: &Store) -> Result<(), StoreError> {
    let now = Timestamp::now();
    for identity in dev::ALL {
        let tenant_id: TenantId = parse_constant(identity.tenant_id)?;
        let client_id: Uuid = parse_constant(identity.client_id)?;
        let (kind, role) = if identity == dev::OPERATOR {
            (TenantKind::Operator, UserRole::Reviewer)
        } else {
            (TenantKind::Partner, UserRole::Member)
        };
        store
            .insert_tenant(
                &NewTenant {
                    id: tenant_id,
                    kind,
                    name: identity.display_name,
                    dev: true,
                },
                now,
            )
            .await?;
        if store.find_app(client_id).await?.is_none() {
            let secret_hash = hash_well_known(identity.client_secret);
            let app = NewApp {
                client_id,
                tenant_id,
                name: identity.display_name,
                secret_hash: &secret_hash,
                dev: true,
            };
            store.insert_app(&app, now).await?;
        }
        if store.find_user_by_name(identity.username).await?.is_none() {
            let password_hash = hash_well_known(identity.password);
            let user = NewUser {
                id: user_object_id(&identity),
                tenant_id,
                username: identity.username,
                password_hash: &password_hash,
                role,
                dev: true,
            };
            store.insert_user(&user, now).await?;
        }
    }
    let code = NewValidationCode {
        partner_tenant_id: parse_constant(dev::PARTNER_A.tenant_id)?,
        validation_id: dev::PARTNER_A_VALIDATION_CODE,
        organization_name: "City of Contoso (dev)",
        max_creates: dev::PARTNER_A_VALIDATION_CODE_MAX_CREATES,
        dev: true,
    };
    store.insert_validation_code(&code, now).await?;
    Ok(())
}
