//! What a test controls of its partner that outlives a request and is shared by every node: the
//! partner's clock, and its own vetting rules (tried before the server's). Without `--dev`
//! every partner is on the server's clock with the server's rules, and nothing is read.

use std::sync::Arc;

use qualify_domain::{Facts, Rule, RuleSet};
use qualify_store::{Store, StoreError, StoredRules, Tx};
use qualify_types::{TenantId, Timestamp, VettingRule};

use crate::clock::Clock;
use crate::vetting_rules::rule_from;

/// The most rules a partner may set.
pub const MAX_RULES: usize = 100;
/// The text of every pattern of a partner's rules together, in bytes. A rule's globs are
/// matched inside the submission's transaction (on SQLite, on the one writer every partner's
/// writes share): what one submission can cost is the patterns' length times the value's, and
/// this bounds it to a few milliseconds whatever the partner writes.
pub const MAX_PATTERN_BYTES: usize = 4 * 1024;
/// Partners whose parsed rules a node keeps.
const CACHED_PARTNERS: u64 = 1024;

/// A partner's own rules, parsed, at one revision.
#[derive(Debug)]
pub struct PartnerRules {
    revision: String,
    entries: Vec<VettingRule>,
    set: RuleSet,
}

impl PartnerRules {
    /// Checks `entries` as `PUT /test/v1/rules` sets them: each as the rules file's, `times` at
    /// least 1, names unique, at most [`MAX_RULES`] and [`MAX_PATTERN_BYTES`] of patterns.
    pub fn check(entries: Vec<VettingRule>) -> Result<(Vec<VettingRule>, RuleSet), String> {
        if entries.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules, not {}", entries.len()));
        }
        let pattern_bytes: usize = entries
            .iter()
            .flat_map(|e| [&e.customer_domain, &e.website, &e.validation_code])
            .flatten()
            .map(String::len)
            .sum();
        if pattern_bytes > MAX_PATTERN_BYTES {
            return Err(format!(
                "the rules' patterns hold {pattern_bytes} bytes together; at most {MAX_PATTERN_BYTES}"
            ));
        }
        let mut rules = Vec::with_capacity(entries.len());
        for entry in &entries {
            if entry.times == Some(0) {
                return Err(format!("rule '{}': 'times' must be at least 1", entry.name));
            }
            rules.push(rule_from(entry.clone())?);
        }
        let set = RuleSet::new(rules).map_err(|(_, why)| why.to_string())?;
        Ok((entries, set))
    }

    fn parse(stored: StoredRules) -> Result<Self, String> {
        let entries: Vec<VettingRule> =
            serde_json::from_str(&stored.rules).map_err(|e| e.to_string())?;
        let (entries, set) = Self::check(entries)?;
        Ok(Self {
            revision: stored.revision,
            entries,
            set,
        })
    }

    /// The first rule that matches, and its position.
    fn first_match(&self, facts: &Facts<'_>) -> Option<(usize, &Rule)> {
        let rule = self.set.first_match(facts)?;
        let index = self.entries.iter().position(|e| e.name == rule.name())?;
        Some((index, rule))
    }

    /// The rules after the rule at `index` was used once: `None` when its use is not counted.
    fn after_use(&self, index: usize) -> Option<Vec<VettingRule>> {
        let remaining = self.entries.get(index)?.times?;
        let mut entries = self.entries.clone();
        if remaining <= 1 {
            entries.remove(index);
        } else if let Some(entry) = entries.get_mut(index) {
            entry.times = Some(remaining - 1);
        }
        Some(entries)
    }
}

/// A partner as a submission sees it: its time, and its own rules, if any.
#[derive(Debug, Clone)]
pub struct PartnerView {
    /// The partner's time.
    pub now: Timestamp,
    /// How far the partner's clock runs ahead of the server's, in milliseconds.
    pub offset_ms: i64,
    rules: Option<Arc<PartnerRules>>,
}

/// The rule that decides a submission, if any: the partner's own first, then the server's.
#[derive(Debug)]
pub struct Matched<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// A counted rule of the partner's, to be used up: its rules and the rule's position.
    counted: Option<(&'a PartnerRules, usize)>,
}

/// The partners' clocks and rules.
#[derive(Debug, Clone)]
pub struct Partners {
    server: Clock,
    /// Development mode: partners' clocks move and partners have rules of their own.
    controlled: bool,
    cache: moka::sync::Cache<TenantId, Arc<PartnerRules>>,
}

impl Partners {
    /// Partners over the `server`'s clock; `controlled` in development mode.
    pub fn new(server: Clock, controlled: bool) -> Self {
        Self {
            server,
            controlled,
            cache: moka::sync::Cache::new(CACHED_PARTNERS),
        }
    }

    /// The server's time: what jobs are scheduled and idempotency records kept by.
    pub fn server_now(&self) -> Timestamp {
        self.server.now()
    }

    /// `partner`'s time, as `tx` sees its clock.
    pub async fn now_for(&self, tx: &mut Tx, partner: TenantId) -> Result<Timestamp, StoreError> {
        let now = self.server.now();
        if !self.controlled {
            return Ok(now);
        }
        Ok(now.plus_millis(tx.partner_clock_offset(partner).await?))
    }

    /// `partner`'s time, read outside any transaction.
    pub async fn read_now_for(
        &self,
        store: &Store,
        partner: TenantId,
    ) -> Result<Timestamp, StoreError> {
        let now = self.server.now();
        if !self.controlled {
            return Ok(now);
        }
        Ok(now.plus_millis(store.partner_clock_offset(partner).await?))
    }

    /// `partner`'s time and rules, as `tx` sees them (one statement, and a parse when its rules
    /// changed since this node last read them).
    pub async fn view(&self, tx: &mut Tx, partner: TenantId) -> Result<PartnerView, StoreError> {
        let now = self.server.now();
        if !self.controlled {
            return Ok(PartnerView {
                now,
                offset_ms: 0,
                rules: None,
            });
        }
        let controls = tx.partner_controls(partner).await?;
        let offset_ms = controls.clock_offset_ms;
        let now = now.plus_millis(offset_ms);
        let Some(revision) = controls.rules_revision else {
            return Ok(PartnerView {
                now,
                offset_ms,
                rules: None,
            });
        };
        if let Some(cached) = self.cache.get(&partner).filter(|r| r.revision == revision) {
            return Ok(PartnerView {
                now,
                offset_ms,
                rules: Some(cached),
            });
        }
        let Some(stored) = tx.partner_rules(partner).await? else {
            return Ok(PartnerView {
                now,
                offset_ms,
                rules: None,
            });
        };
        let rules = Arc::new(
            PartnerRules::parse(stored).map_err(|why| StoreError::Internal {
                context: "reading a partner's rules",
                source: why.into(),
            })?,
        );
        self.cache.insert(partner, Arc::clone(&rules));
        Ok(PartnerView {
            now,
            offset_ms,
            rules: Some(rules),
        })
    }
}

impl PartnerView {
    /// The rule that decides `facts`: the partner's own first, then one of `server`'s.
    pub fn first_match<'a>(
        &'a self,
        server: &'a RuleSet,
        facts: &Facts<'_>,
    ) -> Option<Matched<'a>> {
        if let Some(rules) = self.rules.as_deref()
            && let Some((index, rule)) = rules.first_match(facts)
        {
            return Some(Matched {
                rule,
                counted: Some((rules, index)),
            });
        }
        server.first_match(facts).map(|rule| Matched {
            rule,
            counted: None,
        })
    }
}

impl Matched<'_> {
    /// Uses the rule once, if its uses are counted: in `tx`, so that a submission that fails
    /// uses nothing. A concurrent change of the partner's rules makes this one fail, to retry.
    pub async fn use_once(&self, tx: &mut Tx, partner: TenantId) -> Result<(), StoreError> {
        let Some((rules, index)) = self.counted else {
            return Ok(());
        };
        let Some(after) = rules.after_use(index) else {
            return Ok(());
        };
        let json = serde_json::to_string(&after).map_err(|e| StoreError::Internal {
            context: "writing a partner's rules",
            source: e.into(),
        })?;
        if tx
            .replace_partner_rules(partner, &rules.revision, &json)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "the partner's rules changed while this submission used one; retry".into(),
            ))
        }
    }
}
