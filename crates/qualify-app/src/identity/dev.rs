//! Seeding the well-known development identities (`qualify_types::dev`) into the database when
//! the server starts with `--dev`. Seeding is idempotent. The rows are marked as development
//! identities, which is how a server started without `--dev` on the same database knows to
//! refuse them.

use qualify_store::{
    NewApp, NewTenant, NewUser, NewValidationCode, Store, StoreError, TenantKind, Tx, UserRole,
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

/// Seeds every well-known identity and partner A's validation code, in one transaction. The
/// rows are inserted unless they exist (so a restart, or several nodes starting at once, seed
/// them once); secrets are hashed only for rows not seeded yet.
pub async fn seed(store: &Store, now: Timestamp) -> Result<(), StoreError> {
    let mut tenants = Vec::new();
    let mut apps = Vec::new();
    let mut users = Vec::new();
    for identity in dev::ALL {
        let tenant_id: TenantId = parse_constant(identity.tenant_id)?;
        let client_id: Uuid = parse_constant(identity.client_id)?;
        let (kind, role) = if identity == dev::OPERATOR {
            (TenantKind::Operator, UserRole::Reviewer)
        } else {
            (TenantKind::Partner, UserRole::Member)
        };
        tenants.push((tenant_id, kind, identity.display_name));
        if store.find_app(client_id).await?.is_none() {
            let secret_hash = hash_well_known(identity.client_secret);
            apps.push((client_id, tenant_id, identity.display_name, secret_hash));
        }
        if store.find_user_by_name(identity.username).await?.is_none() {
            let password_hash = hash_well_known(identity.password);
            users.push((
                user_object_id(&identity),
                tenant_id,
                identity.username,
                password_hash,
                role,
            ));
        }
    }
    let partner_a = parse_constant(dev::PARTNER_A.tenant_id)?;
    store
        .transaction(async |tx: &mut Tx| {
            for (id, kind, name) in &tenants {
                let tenant = NewTenant {
                    id: *id,
                    kind: *kind,
                    name,
                    dev: true,
                };
                tx.insert_tenant(&tenant, now).await?;
            }
            for (client_id, tenant_id, name, secret_hash) in &apps {
                let app = NewApp {
                    client_id: *client_id,
                    tenant_id: *tenant_id,
                    name,
                    secret_hash,
                    dev: true,
                };
                tx.insert_app(&app, now).await?;
            }
            for (id, tenant_id, username, password_hash, role) in &users {
                let user = NewUser {
                    id: *id,
                    tenant_id: *tenant_id,
                    username,
                    password_hash,
                    role: *role,
                    dev: true,
                };
                tx.insert_user(&user, now).await?;
            }
            let code = NewValidationCode {
                partner_tenant_id: partner_a,
                validation_id: dev::PARTNER_A_VALIDATION_CODE,
                organization_name: "City of Contoso (dev)",
                max_creates: dev::PARTNER_A_VALIDATION_CODE_MAX_CREATES,
                dev: true,
            };
            tx.insert_validation_code(&code, now).await?;
            Ok(())
        })
        .await
}
