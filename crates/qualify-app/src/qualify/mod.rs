//! [`Qualify`], the façade of the application core: every write the product makes is one of its
//! methods, whoever asks (an HTTP handler, the console, a rule's timed job, a test). Each opens
//! the transaction, runs the use case (which writes the audit record and enqueues what the
//! change announces), and, once it has committed, does what follows a commit in one place
//! ([`Qualify::committed`]): wakes this node's job workers, counts, logs. Reads go to the
//! store directly ([`Qualify::store`]).

mod housekeeping;
mod partners;
mod test_control;
mod vetting;

use std::sync::Arc;

use qualify_store::{Store, StoreError};
use qualify_types::VettingStatus;

use crate::clock::Clock;
use crate::events::{Deliveries, OperatorDelivery, Outbox, PartnerDelivery};
use crate::identity::{self, Identity, KeyEncryptionKey};
use crate::jobs::{JobRunner, Jobs, Lane, LaneWake, Lease, Registry, Workers};
use crate::metrics::{DecidedBy, KnownLabels, Metrics};
use crate::partners::Partners;
use crate::settings::{InvalidSettings, Settings};
use crate::usecases::{TimedDecision, Vetting};
use crate::vetting_rules::{RuleBook, RulesFileError};

/// Why the core could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The settings make no sense.
    #[error("invalid settings: {0}")]
    Settings(#[from] InvalidSettings),
    /// The vetting rules file can't be used.
    #[error("reading the vetting rules: {0}")]
    Rules(#[from] RulesFileError),
    /// The database could not be opened or migrated.
    #[error("opening the database {url}")]
    Store {
        /// The database, password redacted.
        url: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The development identities could not be seeded.
    #[error("seeding the development identities")]
    Seed(#[source] StoreError),
    /// The token issuer's keys could not be loaded or created.
    #[error("loading the token signing keys")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The application core of one node. Cheap to clone: clones share it.
#[derive(Debug, Clone)]
pub struct Qualify(Arc<Core>);

/// What the core holds.
#[derive(Debug)]
pub struct Core {
    store: Store,
    clock: Clock,
    settings: Settings,
    identity: Identity,
    vetting: Vetting,
    deliveries: Deliveries,
    metrics: Arc<Metrics>,
    jobs: Arc<Jobs<Core>>,
    /// How many partners may be made on demand, and how fast.
    test_partners: crate::usecases::test_partners::Admission,
}

impl std::ops::Deref for Qualify {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.0
    }
}

impl Qualify {
    /// Opens the core that `settings` describe, reached by its clients at `public_base` (the
    /// base of its token issuers and of its events' URIs), its dates read from `clock`: the
    /// database (migrated), the development identities with `--dev`, the signing keys, the
    /// vetting rules.
    pub async fn open(
        settings: Settings,
        clock: Clock,
        public_base: String,
    ) -> Result<Self, OpenError> {
        settings.check()?;
        let rules = Arc::new(RuleBook::load(settings.vetting.rules.as_deref())?);
        let store = Store::connect(&settings.store.options())
            .await
            .map_err(|source| OpenError::Store {
                url: settings.store.database.to_string(),
                source,
            })?;
        if settings.dev {
            identity::dev::seed(&store, clock.now())
                .await
                .map_err(OpenError::Seed)?;
        }
        let kek = settings
            .identity
            .key_encryption_key_file
            .as_deref()
            .map(KeyEncryptionKey::from_file)
            .transpose()
            .map_err(|e| OpenError::Keys(Box::new(e)))?
            .map(Arc::new);
        let identity = Identity::open(
            store.clone(),
            &settings.identity,
            settings.dev,
            public_base.clone(),
            kek.clone(),
        )
        .await
        .map_err(|e| OpenError::Keys(Box::new(e)))?;
        let max_attempts = settings.jobs.job_max_attempts;
        let vetting = Vetting {
            policy: settings.vetting.submission_policy(),
            outbox: Outbox::new(&settings.webhooks, max_attempts, public_base.clone()),
            rules,
            partners: Partners::new(clock.clone(), settings.dev),
            job_max_attempts: max_attempts,
        };
        let deliveries = Deliveries::new(
            store.clone(),
            clock.clone(),
            settings.webhooks.webhooks().collect(),
            settings.webhooks.allow_private(settings.dev),
            public_base,
            &settings.jobs,
            kek,
        );
        let registry = Self::registry();
        let metrics = Arc::new(Metrics::new(
            &store,
            &KnownLabels {
                grant_types: &identity::GRANT_TYPES,
                token_refusals: &identity::OAUTH_ERRORS,
                job_kinds: &registry.names(),
                lanes: &Lane::ALL.map(Lane::as_str),
            },
        ));
        let jobs = Arc::new(Jobs {
            store: store.clone(),
            clock: clock.clone(),
            settings: settings.jobs.clone(),
            registry,
            metrics: Arc::clone(&metrics),
            decisions_wake: LaneWake::default(),
            deliveries_wake: LaneWake::default(),
            finished: tokio::sync::Notify::new(),
        });
        // Jobs this node commits wake its workers (the listener must not keep them alive).
        let listening = Arc::downgrade(&jobs);
        if !store.on_jobs_committed(move |lane, due| {
            if let Some(jobs) = listening.upgrade() {
                jobs.committed(lane, due);
            }
        }) {
            tracing::warn!(
                "another core listens to this store's jobs: this one's workers find new jobs at their poll"
            );
        }
        let test_partners = crate::usecases::test_partners::Admission::new(
            settings.identity.test_partners_per_minute,
            settings.identity.test_partners_max,
        );
        Ok(Self(Arc::new(Core {
            store,
            clock,
            settings,
            identity,
            vetting,
            deliveries,
            metrics,
            jobs,
            test_partners,
        })))
    }

    /// Every kind of background job, with what runs it.
    fn registry() -> Registry<Core> {
        let mut registry = Registry::default();
        registry.register(
            |core: Arc<Core>, delivery: OperatorDelivery, lease| async move {
                core.deliveries.to_operator(&delivery, &lease).await
            },
        );
        registry.register(
            |core: Arc<Core>, delivery: PartnerDelivery, lease| async move {
                core.deliveries.to_partner(&delivery, &lease).await
            },
        );
        registry.register_batch(
            |core: Arc<Core>, batch: Vec<(TimedDecision, Lease)>| async move {
                Qualify(core).decide_by_rule(batch).await
            },
        );
        registry
    }

    /// A runner of this node's jobs named `name`, for a caller that runs them itself (a
    /// test draining them deterministically, the clock's advance).
    pub fn job_runner(&self, name: String) -> JobRunner<Core> {
        JobRunner::new(Arc::clone(&self.jobs), Arc::clone(&self.0), name)
    }

    /// Starts this node's workers: `job_workers` of them making decisions, named
    /// `{node}/{n}`, and the delivery dispatcher, `{node}/deliveries` (none at all with
    /// `job_workers` 0: the node only serves requests).
    pub fn start_workers(&self, node: &str) -> Workers {
        let settings = &self.settings.jobs;
        let decisions = (0..settings.job_workers).map(|n| self.job_runner(format!("{node}/{n}")));
        let deliveries = (settings.job_workers > 0).then(|| {
            (
                self.job_runner(format!("{node}/deliveries")),
                settings.delivery_concurrency,
            )
        });
        Workers::start(decisions, deliveries)
    }

    /// What follows every committed write, in one place: a decision it made is counted. (The
    /// jobs it enqueued wake the workers through the store: `Store::on_jobs_committed`.)
    fn committed(&self, decided: Option<(VettingStatus, DecidedBy)>) {
        if let Some((status, by)) = decided {
            self.metrics.decided(status, by);
        }
    }
}

impl Core {
    /// The store, for reading.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where every date the core writes comes from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The settings the core was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The token issuer and verifier.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Each partner's time and own rules.
    pub fn partners(&self) -> &Partners {
        &self.vetting.partners
    }

    /// The vetting rules in force (the server's file).
    pub fn rules(&self) -> &RuleBook {
        &self.vetting.rules
    }

    /// What delivering events takes: the signer of partners' events among it.
    pub fn deliveries(&self) -> &Deliveries {
        &self.deliveries
    }

    /// What the node counts.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `kind` of a job as metrics label it: its name, or `other` for a kind this build does
    /// not run.
    pub fn job_kind_label(&self, kind: &str) -> &'static str {
        self.jobs.registry.label(kind)
    }
}
