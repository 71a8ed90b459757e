//! Partners, their applications and users, and the operator's reviewers.

use qualify_store::{NewApp, NewTenant, NewUser, TenantKind, TenantRecord, Tx, UserRole};
use qualify_types::{TenantId, Timestamp};
use serde_json::json;
use uuid::Uuid;

use super::{Admin, AdminError, hash, secret};

/// An application's credentials, the secret shown once.
#[derive(Debug, Clone)]
pub struct NewCredentials {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its client id.
    pub client_id: Uuid,
    /// Its secret; only a hash is stored.
    pub client_secret: String,
}

/// A new reviewer, and the operator's application when this reviewer's creation made it.
#[derive(Debug, Clone)]
pub struct NewReviewer {
    /// The operator tenant.
    pub tenant_id: TenantId,
    /// The operator's application, which reviewers sign in through.
    pub client_id: Uuid,
    /// Its secret, when it was made now (shown once).
    pub client_secret: Option<String>,
    /// The reviewer's sign-in name, lower case.
    pub username: String,
    /// The reviewer's password (shown once).
    pub password: String,
}

/// A sign-in name must look like an e-mail address.
fn check_username(username: &str) -> Result<(), AdminError> {
    let plausible = username.contains('@')
        && username.len() <= 254
        && !username.chars().any(char::is_whitespace);
    if plausible {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "the user name must look like an e-mail address (user@domain)".into(),
        ))
    }
}

impl Admin {
    /// Creates a partner named `name`, with the tenant id `id` (its Microsoft Entra tenant, to
    /// accept its Entra tokens) or a new one.
    pub async fn create_partner(
        &self,
        name: &str,
        id: Option<TenantId>,
    ) -> Result<TenantId, AdminError> {
        let id = id.unwrap_or_else(TenantId::random);
        let at = self.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                let tenant = NewTenant {
                    id,
                    kind: TenantKind::Partner,
                    name,
                    dev: false,
                };
                if !tx.insert_tenant(&tenant, at).await? {
                    return Err(AdminError::TenantExists(id));
                }
                self.audit(
                    tx,
                    at,
                    "tenant.created",
                    &id.to_string(),
                    json!({ "name": name }),
                )
                .await?;
                Ok(id)
            })
            .await
    }

    /// Disables a partner: its tokens are refused from the next request on.
    pub async fn disable_partner(&self, id: TenantId) -> Result<(), AdminError> {
        let at = self.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                let partner = tx
                    .find_tenant(id)
                    .await?
                    .filter(|t| t.kind == TenantKind::Partner);
                if partner.is_none() {
                    return Err(AdminError::NoSuchPartner(id));
                }
                tx.set_tenant_disabled(id, true, at).await?;
                self.audit(tx, at, "tenant.disabled", &id.to_string(), json!({}))
                    .await?;
                Ok(())
            })
            .await
    }

    /// Registers an application of `tenant` with a generated secret.
    pub async fn create_app(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<NewCredentials, AdminError> {
        let client_secret = secret()?;
        let secret_hash = hash(&client_secret).await?;
        let at = self.now();
        let client_id = self
            .store
            .transaction(async |tx: &mut Tx| {
                if tx.find_tenant(tenant).await?.is_none() {
                    return Err(AdminError::NoSuchTenant(tenant));
                }
                self.insert_app(tx, at, tenant, name, &secret_hash).await
            })
            .await?;
        Ok(NewCredentials {
            tenant_id: tenant,
            client_id,
            client_secret,
        })
    }

    /// Inserts an application and its audit record; returns its client id.
    async fn insert_app(
        &self,
        tx: &mut Tx,
        at: Timestamp,
        tenant: TenantId,
        name: &str,
        secret_hash: &str,
    ) -> Result<Uuid, AdminError> {
        let client_id = Uuid::new_v4();
        let app = NewApp {
            client_id,
            tenant_id: tenant,
            name,
            secret_hash,
            dev: false,
        };
        tx.insert_app(&app, at).await?;
        let detail = json!({ "tenantId": tenant, "name": name });
        self.audit(tx, at, "app.created", &client_id.to_string(), detail)
            .await?;
        Ok(client_id)
    }

    /// Disables an application: no more tokens, and its tokens are refused from the next
    /// request on.
    pub async fn disable_app(&self, client_id: Uuid) -> Result<(), AdminError> {
        let at = self.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                if !tx.set_app_disabled(client_id, true, at).await? {
                    return Err(AdminError::NoSuchApp(client_id));
                }
                self.audit(tx, at, "app.disabled", &client_id.to_string(), json!({}))
                    .await?;
                Ok(())
            })
            .await
    }

    /// Creates a user of the partner `tenant` with a generated password; returns it.
    pub async fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
    ) -> Result<String, AdminError> {
        check_username(username)?;
        let password = secret()?;
        let password_hash = hash(&password).await?;
        let at = self.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                match tx.find_tenant(tenant).await?.map(|t| t.kind) {
                    Some(TenantKind::Partner) => {}
                    Some(TenantKind::Operator) => return Err(AdminError::OperatorUser),
                    None => return Err(AdminError::NoSuchTenant(tenant)),
                }
                self.insert_user(tx, at, tenant, username, &password_hash, UserRole::Member)
                    .await
            })
            .await?;
        Ok(password)
    }

    /// Inserts a user and its audit record.
    async fn insert_user(
        &self,
        tx: &mut Tx,
        at: Timestamp,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: UserRole,
    ) -> Result<(), AdminError> {
        let user = NewUser {
            id: Uuid::new_v4(),
            tenant_id: tenant,
            username,
            password_hash,
            role,
            dev: false,
        };
        if !tx.insert_user(&user, at).await? {
            return Err(AdminError::UserExists(username.to_owned()));
        }
        let detail = json!({ "tenantId": tenant, "role": format!("{role:?}") });
        self.audit(tx, at, "user.created", &username.to_lowercase(), detail)
            .await?;
        Ok(())
    }

    /// Disables a user: sign-in refused, refresh tokens revoked, tokens refused from the next
    /// request on.
    pub async fn disable_user(&self, username: &str) -> Result<(), AdminError> {
        let at = self.now();
        self.store
            .transaction(async |tx: &mut Tx| {
                if !tx.set_user_disabled(username, true, at).await? {
                    return Err(AdminError::NoSuchUser(username.to_owned()));
                }
                let subject = username.to_lowercase();
                self.audit(tx, at, "user.disabled", &subject, json!({}))
                    .await?;
                Ok(())
            })
            .await
    }

    /// Creates a reviewer in the operator tenant: the oldest enabled operator tenant, or a new
    /// one; with the tenant's application, or a new one (whose secret is then returned).
    pub async fn create_reviewer(&self, username: &str) -> Result<NewReviewer, AdminError> {
        check_username(username)?;
        let password = secret()?;
        let password_hash = hash(&password).await?;
        // Hashed up front, as hashing can't wait inside the transaction; unused when the
        // operator's application exists.
        let app_secret = secret()?;
        let app_secret_hash = hash(&app_secret).await?;
        let at = self.now();
        let (tenant_id, client_id, made_app) = self
            .store
            .transaction(async |tx: &mut Tx| {
                let operator = tx
                    .list_tenants(Some(TenantKind::Operator))
                    .await?
                    .into_iter()
                    .find(|t| !t.disabled)
                    .map(|t: TenantRecord| t.id);
                let tenant = match operator {
                    Some(id) => id,
                    None => {
                        let id = TenantId::random();
                        let tenant = NewTenant {
                            id,
                            kind: TenantKind::Operator,
                            name: "Operator",
                            dev: false,
                        };
                        tx.insert_tenant(&tenant, at).await?;
                        let detail = json!({ "kind": "operator" });
                        self.audit(tx, at, "tenant.created", &id.to_string(), detail)
                            .await?;
                        id
                    }
                };
                let existing = tx
                    .list_apps(Some(tenant))
                    .await?
                    .into_iter()
                    .find(|a| !a.disabled && !a.dev);
                let (client_id, made_app) = match existing {
                    Some(app) => (app.client_id, false),
                    None => {
                        let name = "Reviewer console";
                        let id = self
                            .insert_app(tx, at, tenant, name, &app_secret_hash)
                            .await?;
                        (id, true)
                    }
                };
                self.insert_user(tx, at, tenant, username, &password_hash, UserRole::Reviewer)
                    .await?;
                Ok::<_, AdminError>((tenant, client_id, made_app))
            })
            .await?;
        Ok(NewReviewer {
            tenant_id,
            client_id,
            client_secret: made_app.then_some(app_secret),
            username: username.to_lowercase(),
            password,
        })
    }
}
