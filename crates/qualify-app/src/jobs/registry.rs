//! Which code runs each kind of job: filled once where the core is put together, read by every
//! runner. A kind runs its jobs one at a time, or (`register_batch`) several claimed together at
//! once, in one transaction say. A job of a kind this build does not know (left by another
//! version) is given up, and counted under `other`, so metrics' labels stay a fixed set whatever
//! the table holds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Attempt, JobKind, Lane, Lease};

/// Runs the jobs of one kind claimed together, giving each one's attempt in their order.
type RunAll<C> = Box<
    dyn Fn(Arc<C>, Vec<Lease>) -> Pin<Box<dyn Future<Output = Vec<Attempt>> + Send>> + Send + Sync,
>;

/// What a registered kind is, and what runs it.
struct Entry<C> {
    delivers_to: Option<&'static str>,
    lane: Lane,
    run_all: RunAll<C>,
}

/// The job `lease` holds, read back as a `J`; or why it can never run.
fn read<J: JobKind>(lease: &Lease) -> Result<J, Attempt> {
    serde_json::from_str::<J>(&lease.claimed.payload).map_err(|error| {
        Attempt::Hopeless(format!(
            "the {} job's payload is not readable: {error}",
            lease.claimed.kind
        ))
    })
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
    /// Runs jobs of kind `J` with `run`, given the context, the job's payload and its lease;
    /// jobs claimed together run at once.
    pub fn register<J, F, Fut>(&mut self, run: F)
    where
        J: JobKind,
        F: Fn(Arc<C>, J, Lease) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Attempt> + Send + 'static,
    {
        let run = Arc::new(run);
        self.insert::<J>(Box::new(move |context, leases: Vec<Lease>| {
            let run = Arc::clone(&run);
            Box::pin(async move {
                let each = leases.into_iter().map(|lease| {
                    let (run, context) = (Arc::clone(&run), Arc::clone(&context));
                    async move {
                        match read::<J>(&lease) {
                            Ok(job) => run(context, job, lease).await,
                            Err(unreadable) => unreadable,
                        }
                    }
                });
                futures::future::join_all(each).await
            })
        }));
    }

    /// Runs the jobs of kind `J` claimed together with one call of `run`, given the context and
    /// each readable job with its lease; `run` answers each one's attempt, in their order.
    pub fn register_batch<J, F, Fut>(&mut self, run: F)
    where
        J: JobKind,
        F: Fn(Arc<C>, Vec<(J, Lease)>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Attempt>> + Send + 'static,
    {
        let run = Arc::new(run);
        self.insert::<J>(Box::new(move |context, leases: Vec<Lease>| {
            let run = Arc::clone(&run);
            Box::pin(async move {
                let mut attempts: Vec<Option<Attempt>> = Vec::with_capacity(leases.len());
                let mut readable = Vec::new();
                for lease in leases {
                    match read::<J>(&lease) {
                        Ok(job) => {
                            attempts.push(None);
                            readable.push((job, lease));
                        }
                        Err(unreadable) => attempts.push(Some(unreadable)),
                    }
                }
                let mut ran = run(context, readable).await.into_iter();
                attempts
                    .into_iter()
                    .map(|attempt| {
                        attempt.or_else(|| ran.next()).unwrap_or_else(|| {
                            Attempt::Failed("the batch gave no outcome for this job".into())
                        })
                    })
                    .collect()
            })
        }));
    }

    fn insert<J: JobKind>(&mut self, run_all: RunAll<C>) {
        let entry = Entry {
            delivers_to: J::DELIVERS_TO,
            lane: J::LANE,
            run_all,
        };
        self.kinds.insert(J::NAME, entry);
    }

    /// Runs one attempt of each job `leases` hold (claimed together), in `context`: those of
    /// one kind together as the kind runs them. Gives each one's attempt, in their order.
    pub(super) async fn run_all(&self, context: Arc<C>, leases: Vec<Lease>) -> Vec<Attempt> {
        let mut by_kind: Vec<(&str, Vec<usize>)> = Vec::new();
        for (at, lease) in leases.iter().enumerate() {
            let kind = lease.claimed.kind.as_str();
            match by_kind.iter_mut().find(|(known, _)| *known == kind) {
                Some((_, positions)) => positions.push(at),
                None => by_kind.push((kind, vec![at])),
            }
        }
        let groups = by_kind.into_iter().map(|(kind, positions)| {
            let group: Vec<Lease> = positions.iter().map(|&at| leases[at].clone()).collect();
            let context = Arc::clone(&context);
            async move {
                let attempts = match self.kinds.get(kind) {
                    Some(entry) => (entry.run_all)(context, group).await,
                    None => group
                        .iter()
                        .map(|_| Attempt::Hopeless(format!("unknown job kind {kind}")))
                        .collect(),
                };
                positions.into_iter().zip(attempts).collect::<Vec<_>>()
            }
        });
        let mut attempts: Vec<Option<Attempt>> = vec![None; leases.len()];
        for (at, attempt) in futures::future::join_all(groups)
            .await
            .into_iter()
            .flatten()
        {
            attempts[at] = Some(attempt);
        }
        attempts
            .into_iter()
            .map(|attempt| attempt.unwrap_or_else(|| Attempt::Failed("no outcome".into())))
            .collect()
    }

    /// Runs one attempt of the job `lease` holds, in `context`.
    #[cfg(test)]
    pub(super) async fn run(&self, context: Arc<C>, lease: Lease) -> Attempt {
        let mut attempts = self.run_all(context, vec![lease]).await;
        attempts
            .pop()
            .unwrap_or(Attempt::Failed("no outcome".into()))
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
