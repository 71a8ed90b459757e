use std::collections::BTreeSet;

use qualify_store::SqliteSync;

use super::*;

#[test]
fn the_keys_are_the_fields() {
    let keys = Settings::keys();
    assert_eq!(keys.first(), Some(&"listen"));
    for key in [
        "database",
        "sqlite_sync",
        "webhook_secret",
        "tls_dir",
        "job_workers",
    ] {
        assert!(keys.contains(&key), "{key}");
    }
}

#[test]
fn every_key_is_a_setting_and_every_setting_a_key() {
    let listed: BTreeSet<&str> = Settings::keys().into_iter().collect();
    let defaults = Settings::default().defaults();
    let serialised: BTreeSet<&str> = defaults.keys().map(String::as_str).collect();
    assert_eq!(listed, serialised);
    assert_eq!(
        listed.len(),
        Settings::keys().len(),
        "a key is in two sections"
    );
}

#[test]
fn an_option_of_the_other_backend_is_refused() {
    let mut sqlite = Settings::default();
    sqlite.store.db_max_connections = Some(4);
    assert!(sqlite.check().unwrap_err().0.contains("db_max_connections"));
    let mut postgres = Settings::new("postgres://db/qualify".parse().unwrap());
    postgres.store.sqlite_sync = Some(SqliteSync::Normal);
    assert!(postgres.check().unwrap_err().0.contains("sqlite_sync"));
    postgres.store.sqlite_sync = None;
    postgres.store.db_max_connections = Some(5);
    postgres.check().unwrap();
    assert_eq!(postgres.store.options().max_connections, 5);
}

#[test]
fn a_pool_no_larger_than_the_decisions_workers_is_refused() {
    let mut postgres = Settings::new("postgres://db/qualify".parse().unwrap());
    postgres.check().unwrap();
    postgres.store.db_max_connections = Some(u32::try_from(postgres.jobs.job_workers).unwrap());
    let refused = postgres.check().unwrap_err().0;
    assert!(refused.contains("job_workers"), "{refused}");
    postgres.jobs.job_workers -= 1;
    postgres.check().unwrap();
    // SQLite has no pool: its workers take turns on the one writer.
    let mut sqlite = Settings::default();
    sqlite.jobs.job_workers = 64;
    sqlite.check().unwrap();
}

#[test]
fn half_a_webhook_or_a_secret_not_in_the_standard_webhooks_format_is_refused() {
    let mut settings = Settings::default();
    settings.webhooks.webhook_url = Some("https://hooks.example/q".parse().unwrap());
    assert!(settings.check().is_err());
    settings.webhooks.webhook_secret = Some("long enough".into());
    assert!(settings.check().unwrap_err().0.contains("whsec_"));
    settings.webhooks.webhook_secret = Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into());
    settings.check().unwrap();
    assert_eq!(settings.webhooks.webhooks().count(), 1);
}

#[test]
fn a_secret_never_prints() {
    let mut settings = Settings::new("postgres://qualify:hunter2@db/qualify".parse().unwrap());
    settings.webhooks.webhook_secret = Some("whsec_do_not_print".into());
    settings.webhooks.webhooks.push(Webhook {
        url: "https://hooks.example/q".parse().unwrap(),
        secret: "another_secret_value".into(),
        previous_secret: Some("the_previous_secret".into()),
    });
    let printed = format!("{settings:?}");
    let shown = serde_json::to_string(&settings.defaults()).unwrap();
    for secret in [
        "hunter2",
        "whsec_do_not_print",
        "another_secret_value",
        "the_previous_secret",
    ] {
        assert!(!printed.contains(secret), "{printed}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

/// The scheme's published test vectors (its reference libraries' tests).
#[test]
fn signatures_match_the_schemes_published_vectors() {
    let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(
        secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(
        secret.sign(
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            r#"{"email":"test@example.com","username":"test_user"}"#
        ),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
}

#[test]
fn a_secret_is_whsec_and_the_base64_of_24_to_64_bytes() {
    assert!(SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
    for refused in [
        "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_not base64!",
        "whsec_c2hvcnQ=",
        "long enough but not a secret",
    ] {
        let why = SigningSecret::parse(refused).err().unwrap();
        assert!(why.contains("openssl rand"), "{why}");
    }
}
