//! Which code runs each kind of job: filled once where the core is put together, read by every
//! runner. A job of a kind this build does not know (left by another version) is given up, and
//! counted under `other`, so metrics' labels stay a fixed set whatever the table holds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Attempt, JobKind, Lane, Lease};

type Run<C> =
    Box<dyn Fn(Arc<C>, Lease) -> Pin<Box<dyn Future<Output = Attempt> + Send>> + Send + Sync>;

/// What a registered kind is, and what runs it.
struct Entry<C> {
    delivers_to: Option<&'static str>,
    lane: Lane,
    run: Run<C>,
}

/// The kinds of job a node runs, each with what runs it in the context `C`.
pub struct Registry<C> {
    kinds: HashMap<&'static str, Entry<C>>,
}

impl<C> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self {
            kinds: HashMap::new(),
        }
    }
}

impl<C: Send + Sync + 'static> Registry<C> {
    /// Runs jobs of kind `J` with `run`, given the context, the job's payload and its lease.
    pub fn register<J, F, Fut>(&mut self, run: F)
    where
        J: JobKind,
        F: Fn(Arc<C>, J, Lease) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Attempt> + Send + 'static,
    {
        let run = Arc::new(run);
        let entry = Entry {
            delivers_to: J::DELIVERS_TO,
            lane: J::LANE,
            run: Box::new(move |context, lease: Lease| {
                let run = Arc::clone(&run);
                Box::pin(async move {
                    match serde_json::from_str::<J>(&lease.claimed.payload) {
                        Ok(job) => run(context, job, lease).await,
                        Err(error) => Attempt::Hopeless(format!(
                            "the {} job's payload is not readable: {error}",
                            lease.claimed.kind
                        )),
                    }
                })
            }),
        };
        self.kinds.insert(J::NAME, entry);
    }

    /// Runs one attempt of the job `lease` holds, in `context`.
    pub(super) async fn run(&self, context: Arc<C>, lease: Lease) -> Attempt {
        match self.kinds.get(lease.claimed.kind.as_str()) {
            Some(entry) => (entry.run)(context, lease).await,
            None => Attempt::Hopeless(format!("unknown job kind {}", lease.claimed.kind)),
        }
    }
}

impl<C> Registry<C> {
    /// Every kind registered, by name.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.kinds.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// `kind` as a metric's label: its name, or `other` for a kind this build does not know.
    pub fn label(&self, kind: &str) -> &'static str {
        self.kinds
            .get_key_value(kind)
            .map_or("other", |(name, _)| name)
    }

    /// Whose receiver a job of `kind` delivers to, if it delivers an event.
    pub fn delivers_to(&self, kind: &str) -> Option<&'static str> {
        self.kinds.get(kind).and_then(|entry| entry.delivers_to)
    }

    /// The lane of `kind`, if this build runs it.
    pub fn lane(&self, kind: &str) -> Option<Lane> {
        self.kinds.get(kind).map(|entry| entry.lane)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Greet {
        name: String,
    }

    impl JobKind for Greet {
        const NAME: &'static str = "test.greet";
    }

    fn claimed(kind: &str, payload: &str) -> Lease {
        let claimed = qualify_store::ClaimedJob {
            id: 1,
            kind: kind.into(),
            payload: payload.into(),
            attempt: 1,
            max_attempts: 3,
            run_at: qualify_types::Timestamp::from_unix_millis(0).unwrap(),
            receiver: None,
        };
        Lease::new(claimed, "test".into(), std::time::Duration::from_secs(1))
    }

    #[tokio::test]
    async fn a_job_reads_back_as_it_was_stored_and_runs_with_its_kind() {
        let mut registry = Registry::<String>::default();
        registry.register(|greeting: Arc<String>, job: Greet, _| async move {
            assert_eq!(job.name, "reviewer");
            Attempt::Failed(format!("{greeting}, {}", job.name))
        });
        let job = Greet {
            name: "reviewer".into(),
        };
        let stored = job
            .to_new(qualify_types::Timestamp::from_unix_millis(0).unwrap(), 3)
            .unwrap();
        assert_eq!(stored.kind, "test.greet");
        let context = Arc::new("hello".to_owned());
        assert_eq!(
            registry
                .run(Arc::clone(&context), claimed(&stored.kind, &stored.payload))
                .await,
            Attempt::Failed("hello, reviewer".into())
        );
        assert!(matches!(
            registry
                .run(Arc::clone(&context), claimed("mystery", "{}"))
                .await,
            Attempt::Hopeless(_)
        ));
        assert!(matches!(
            registry
                .run(context, claimed("test.greet", "not json"))
                .await,
            Attempt::Hopeless(_)
        ));
        assert_eq!(registry.label("test.greet"), "test.greet");
        assert_eq!(registry.label("mystery"), "other");
        assert_eq!(registry.lane("test.greet"), Some(Lane::Decisions));
    }
}
