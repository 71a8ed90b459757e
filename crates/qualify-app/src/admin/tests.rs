//! Every administrative change is written with its audit record, in one transaction: when the
//! record can't be written, the change is not made either. Told on every backend.

use qualify_store::testing::TestDatabase;
use qualify_store::{AuditRecord, Backend, DatabaseUrl, Store, StoreOptions, TenantKind};
use sqlx::Connection;

use super::{Admin, AdminError};
use crate::clock::Clock;

/// Runs `statements` on the database directly, as its administrator would.
async fn administer(url: &DatabaseUrl, statements: &str) {
    let statements = sqlx::AssertSqlSafe(statements.to_owned());
    match url.backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&url.expose())
                .await
                .unwrap();
            sqlx::raw_sql(statements).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&url.expose()).await.unwrap();
            sqlx::raw_sql(statements).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// Makes every insert into the audit trail fail, as a full disk or a revoked grant would.
async fn refuse_audit_records(url: &DatabaseUrl) {
    let trigger = match url.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        }
    };
    administer(url, trigger).await;
}

async fn accept_audit_records(url: &DatabaseUrl) {
    let drop = match url.backend() {
        Backend::Sqlite => "DROP TRIGGER refuse_audit",
        Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_events",
    };
    administer(url, drop).await;
}

async fn trail(store: &Store) -> Vec<AuditRecord> {
    store.audit_trail(0, 1000).await.unwrap()
}

#[tokio::test]
async fn a_change_whose_audit_record_fails_is_not_made() {
    for db in TestDatabase::every_backend("admin audit").await {
        let store = Store::connect(&StoreOptions::new(db.url().clone()))
            .await
            .unwrap();
        let admin = Admin::new(store.clone(), Clock::wall(), "admin-cli:test");
        let partner = admin.create_partner("Contoso", None).await.unwrap();
        let app = admin.create_app(partner, "Billing").await.unwrap();
        admin
            .create_user(partner, "ops@contoso.test")
            .await
            .unwrap();
        let before = trail(&store).await;
        assert_eq!(
            before.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["tenant.created", "app.created", "user.created"]
        );
        assert!(before.iter().all(|r| r.actor == "admin-cli:test"));

        refuse_audit_records(db.url()).await;
        let refused = [
            admin.create_partner("Fabrikam", None).await.map(|_| ()),
            admin.create_app(partner, "Second").await.map(|_| ()),
            admin
                .create_user(partner, "second@contoso.test")
                .await
                .map(|_| ()),
            admin.disable_user("ops@contoso.test").await,
            admin.disable_app(app.client_id).await,
            admin.disable_partner(partner).await,
            admin
                .create_reviewer("alice@vetting.test")
                .await
                .map(|_| ()),
            admin
                .issue_validation_code(partner, "City of Contoso", 5, Some("200002"))
                .await
                .map(|_| ()),
            admin.rotate_signing_key(None).await.map(|_| ()),
        ];
        for outcome in refused {
            assert!(
                matches!(outcome, Err(AdminError::Store(_))),
                "{outcome:?} ({:?})",
                db.backend()
            );
        }
        // Nothing of the refused changes is stored.
        let tenants = store.list_tenants(None).await.unwrap();
        assert_eq!(tenants.len(), 1, "{tenants:?}");
        assert!(!tenants[0].disabled);
        let apps = store.list_apps(None).await.unwrap();
        assert_eq!(apps.len(), 1);
        assert!(!apps[0].disabled);
        let users = store.list_users(None).await.unwrap();
        assert_eq!(users.len(), 1);
        assert!(!users[0].disabled);
        assert!(store.validation_codes(None).await.unwrap().is_empty());
        assert!(store.signing_keys().await.unwrap().is_empty());
        assert_eq!(trail(&store).await, before);

        // Once records can be written, each change comes with exactly one.
        accept_audit_records(db.url()).await;
        admin.disable_partner(partner).await.unwrap();
        let reviewer = admin.create_reviewer("alice@vetting.test").await.unwrap();
        assert!(
            reviewer.client_secret.is_some(),
            "the operator's app was made"
        );
        let operator = store
            .list_tenants(Some(TenantKind::Operator))
            .await
            .unwrap();
        assert_eq!(operator.len(), 1);
        let added: Vec<_> = trail(&store).await.split_off(before.len());
        assert_eq!(
            added.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            [
                "tenant.disabled",
                "tenant.created",
                "app.created",
                "user.created"
            ]
        );
        store.close().await;
    }
}

#[tokio::test]
async fn users_of_a_partner_are_members_and_the_operators_are_reviewers() {
    let db = TestDatabase::sqlite();
    let store = Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .unwrap();
    let admin = Admin::new(store.clone(), Clock::wall(), "admin-cli:test");
    let reviewer = admin.create_reviewer("alice@vetting.test").await.unwrap();
    let second = admin.create_reviewer("bob@vetting.test").await.unwrap();
    assert_eq!(second.tenant_id, reviewer.tenant_id, "one operator tenant");
    assert_eq!(second.client_id, reviewer.client_id, "one operator app");
    assert!(second.client_secret.is_none(), "its secret was shown once");
    assert!(matches!(
        admin
            .create_user(reviewer.tenant_id, "eve@vetting.test")
            .await,
        Err(AdminError::OperatorUser)
    ));
    assert!(matches!(
        admin.create_reviewer("alice@vetting.test").await,
        Err(AdminError::UserExists(_))
    ));
    let partner = admin.create_partner("Contoso", None).await.unwrap();
    admin
        .create_user(partner, "ops@contoso.test")
        .await
        .unwrap();
    let users = store.list_users(Some(partner)).await.unwrap();
    assert_eq!(users[0].role, qualify_store::UserRole::Member);
    assert!(matches!(
        admin.create_user(partner, "not an address").await,
        Err(AdminError::Invalid(_))
    ));
    store.close().await;
}
