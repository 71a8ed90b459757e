//! The conformance report (development mode): what a partner's integration did that Partner
//! Center would punish, found in what it actually sent, the journal's requests and the token
//! endpoint's record of its tokens (`checks.rs`). Nothing is kept for it beyond the journal:
//! findings are worked out when asked for, so they take no memory of their own and are bounded
//! (and fairly shared) as the journal is, and reset with it.
//!
//! Each partner may turn on `strict`: an offending request then gets the answer Partner Center
//! would give (a 429 sent before `Retry-After` has passed; a retired endpoint's error) instead of
//! passing silently (`strict.rs`).

mod checks;
mod strict;

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use qualify_types::{ConformanceReport, ConformanceSettings, SeverityCounts, TenantId};

use super::journal::RequestJournal;

pub(crate) use checks::PollAnswer;
pub(crate) use strict::Refusal;

/// The most polls of one customer in any minute that are no finding, by default.
pub(crate) const DEFAULT_POLLS_PER_MINUTE: u32 = 20;

/// Each partner's settings of the checks, on this node.
#[derive(Debug, Default)]
pub(crate) struct Conformance {
    settings: RwLock<HashMap<TenantId, ConformanceSettings>>,
    /// Partners in strict mode: none, and a request needs no verdict before its handler.
    strict: AtomicUsize,
}

impl Conformance {
    /// `partner`'s settings.
    pub(crate) fn settings(&self, partner: TenantId) -> ConformanceSettings {
        let settings = self.settings.read().unwrap_or_else(|p| p.into_inner());
        settings.get(&partner).copied().unwrap_or_default()
    }

    /// Sets `partner`'s settings (the defaults forget them).
    pub(crate) fn set(&self, partner: TenantId, new: ConformanceSettings) {
        let mut settings = self.settings.write().unwrap_or_else(|p| p.into_inner());
        if new == ConformanceSettings::default() {
            settings.remove(&partner);
        } else {
            settings.insert(partner, new);
        }
        let strict = settings.values().filter(|s| s.strict).count();
        self.strict.store(strict, Ordering::Release);
    }

    /// Forgets `partner`'s settings (its data was reset).
    pub(crate) fn clear(&self, partner: TenantId) {
        self.set(partner, ConformanceSettings::default());
    }

    /// Whether any partner is in strict mode.
    pub(crate) fn any_strict(&self) -> bool {
        self.strict.load(Ordering::Acquire) > 0
    }

    /// `partner`'s findings in what `journal` holds of it, the most recently seen first.
    pub(crate) fn report(&self, journal: &RequestJournal, partner: TenantId) -> ConformanceReport {
        let settings = self.settings(partner);
        let polls_per_minute = settings
            .polls_per_minute
            .unwrap_or(DEFAULT_POLLS_PER_MINUTE);
        let mut items = journal.read(partner, |requests, tokens| {
            checks::findings(requests, tokens, polls_per_minute)
        });
        items.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.code.cmp(&b.code)));
        let mut counts = SeverityCounts::default();
        for finding in &items {
            *match finding.severity {
                qualify_types::Severity::Error => &mut counts.error,
                qualify_types::Severity::Warning => &mut counts.warning,
                qualify_types::Severity::Info => &mut counts.info,
            } += 1;
        }
        ConformanceReport { items, counts }
    }
}
