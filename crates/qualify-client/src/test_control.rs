//! The test control plane (`/test/v1`, a server started with `--dev` only): partners on demand,
//! their clock, their own rules, faults, the journal of what they sent, and a reset. Every call
//! but [`Client::create_test_partner`] acts on the partner whose credentials the client has.

use qualify_types::{
    AdvanceClock, ClockNow, ConformanceReport, ConformanceSettings, Fault, Journal, TestFaults,
    TestPartner, TestRules, VettingRule,
};
use reqwest::Method;

use crate::transport::Call;
use crate::{Client, ClientError, Credentials};

impl Credentials {
    /// The App+User credentials of a partner made by [`Client::create_test_partner`].
    pub fn test_partner(partner: &TestPartner) -> Self {
        Self::User {
            tenant: partner.tenant_id,
            client_id: partner.client_id.clone(),
            client_secret: partner.client_secret.clone(),
            username: partner.username.clone(),
            password: partner.password.clone(),
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::Config(format!("encoding the request: {e}")))
}

impl Client {
    /// Makes a new partner of its own for a test run (no credentials needed); use it with
    /// [`Credentials::test_partner`].
    pub async fn create_test_partner(&self) -> Result<TestPartner, ClientError> {
        self.execute(Call {
            anonymous: true,
            ..Call::with(Method::POST, "/test/v1/partners".into(), None)
        })
        .await
    }

    /// The partner's clock.
    pub async fn clock(&self) -> Result<ClockNow, ClientError> {
        self.execute(Call::get("/test/v1/clock".into())).await
    }

    /// Moves the partner's clock forward by `seconds`; the timed decisions that fall due are
    /// made before it answers.
    pub async fn advance_clock(&self, seconds: u64) -> Result<ClockNow, ClientError> {
        let body = json(&AdvanceClock { seconds })?;
        self.execute(Call::post("/test/v1/clock/advance".into(), body))
            .await
    }

    /// The partner's own vetting rules, with what remains of each one's `times`.
    pub async fn test_rules(&self) -> Result<TestRules, ClientError> {
        self.execute(Call::get("/test/v1/rules".into())).await
    }

    /// The partner's faults on this node, with what remains of each one's `times`.
    pub async fn faults(&self) -> Result<TestFaults, ClientError> {
        self.execute(Call::get("/test/v1/faults".into())).await
    }

    /// Sets the partner's own vetting rules, tried before the server's.
    pub async fn set_test_rules(&self, rules: Vec<VettingRule>) -> Result<TestRules, ClientError> {
        let body = json(&TestRules { rules })?;
        self.execute(Call::with(Method::PUT, "/test/v1/rules".into(), Some(body)))
            .await
    }

    /// Removes the partner's own rules.
    pub async fn clear_test_rules(&self) -> Result<(), ClientError> {
        self.execute(Call::with(Method::DELETE, "/test/v1/rules".into(), None))
            .await
    }

    /// Sets the faults the partner's next requests get.
    pub async fn set_faults(&self, faults: Vec<Fault>) -> Result<TestFaults, ClientError> {
        let body = json(&TestFaults { faults })?;
        self.execute(Call::with(
            Method::PUT,
            "/test/v1/faults".into(),
            Some(body),
        ))
        .await
    }

    /// Removes the partner's faults.
    pub async fn clear_faults(&self) -> Result<(), ClientError> {
        self.execute(Call::with(Method::DELETE, "/test/v1/faults".into(), None))
            .await
    }

    /// The partner's last requests, newest first.
    pub async fn journal(&self) -> Result<Journal, ClientError> {
        self.execute(Call::get("/test/v1/journal".into())).await
    }

    /// What the partner's requests and tokens did that Partner Center would punish.
    pub async fn conformance(&self) -> Result<ConformanceReport, ClientError> {
        self.execute(Call::get("/test/v1/conformance".into())).await
    }

    /// How the partner's requests are checked: `strict` answers an offending request as Partner
    /// Center would.
    pub async fn set_conformance_settings(
        &self,
        settings: ConformanceSettings,
    ) -> Result<ConformanceSettings, ClientError> {
        let body = json(&settings)?;
        self.execute(Call::with(
            Method::PUT,
            "/test/v1/conformance/settings".into(),
            Some(body),
        ))
        .await
    }

    /// Empties the partner's data: customers, vetting requests, rules, faults, journal, clock.
    pub async fn reset_test_data(&self) -> Result<(), ClientError> {
        self.execute(Call::with(Method::DELETE, "/test/v1/data".into(), None))
            .await
    }
}
