//! The journal: what each partner's code sent, newest first, so a test can check its requests
//! (ids, paths, bodies) as Qualify received them. Never a token or a secret: headers other than
//! the request ids are not kept, and query strings and bodies keep only what is known to be
//! harmless (`redaction`). Bounded: the last [`PER_PARTNER`] requests of a partner, each path and
//! query cut at [`MAX_PATH`] bytes and body at [`MAX_BODY`], and at most [`BUDGET`] bytes in all.
//! When every journal together passes it, the largest journal gives up its oldest requests: a
//! partner's journal shrinks only while it holds more than any other's, so however many partners
//! one client makes and fills, every other partner keeps its fair share.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use qualify_types::{JournalEntry, TenantId, Timestamp};

use super::redaction::Redaction;

/// Requests kept per partner.
pub(crate) const PER_PARTNER: usize = 1_000;
/// The longest body kept, in bytes.
pub(crate) const MAX_BODY: usize = 4 * 1024;
/// The longest path, and query string, kept, in bytes: longer than any route's (a request's
/// head may be 64 KiB, and 1,000 of those once made one partner's journal 57 MB).
pub(crate) const MAX_PATH: usize = 1024;
/// The most bytes every journal together may hold.
const BUDGET: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct PartnerJournal {
    entries: VecDeque<JournalEntry>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    partners: HashMap<TenantId, PartnerJournal>,
    /// Every partner's journal by its size: the largest is the one that gives up entries.
    by_size: BTreeSet<(usize, TenantId)>,
    bytes: usize,
}

impl State {
    /// Changes `partner`'s journal by `change`, keeping the sizes true.
    fn change(&mut self, partner: TenantId, change: impl FnOnce(&mut PartnerJournal)) {
        let journal = self.partners.entry(partner).or_default();
        let before = journal.bytes;
        change(journal);
        let after = journal.bytes;
        let empty = journal.entries.is_empty();
        self.by_size.remove(&(before, partner));
        if empty {
            self.partners.remove(&partner);
        } else {
            self.by_size.insert((after, partner));
        }
        self.bytes = self.bytes + after - before;
    }

    /// Drops the oldest requests of the largest journals until every journal fits the budget.
    fn fit(&mut self) {
        while self.bytes > BUDGET {
            let Some(&(_, largest)) = self.by_size.last() else {
                break;
            };
            self.change(largest, |journal| {
                if let Some(oldest) = journal.entries.pop_back() {
                    journal.bytes -= size_of(&oldest);
                }
            });
        }
    }
}

/// Every partner's journal, on this node.
#[derive(Debug)]
pub(crate) struct RequestJournal {
    state: Mutex<State>,
    redaction: Redaction,
}

/// A request as the layer saw it, borrowed: the journal copies what it keeps.
#[derive(Debug)]
pub(crate) struct Sent<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) status: u16,
    pub(crate) request_id: &'a str,
    pub(crate) correlation_id: &'a str,
    pub(crate) at: Timestamp,
    pub(crate) duration_ms: f64,
    pub(crate) body: Option<String>,
    pub(crate) fault: Option<String>,
}

impl Sent<'_> {
    /// Writes this request over `entry`, reusing its strings' memory: a full journal takes
    /// a request without allocating (the GET of a test pays next to nothing for its journal).
    /// `query` is the query as kept (redacted).
    fn write_over(self, query: Option<&str>, entry: &mut JournalEntry) {
        set(&mut entry.method, self.method);
        set(&mut entry.path, cut(self.path, MAX_PATH));
        match (query, &mut entry.query) {
            (Some(query), Some(kept)) => set(kept, query),
            (query, kept) => *kept = query.map(str::to_owned),
        }
        entry.status = self.status;
        set(&mut entry.request_id, self.request_id);
        set(&mut entry.correlation_id, self.correlation_id);
        entry.at = self.at;
        entry.duration_ms = self.duration_ms;
        entry.body = self.body;
        entry.fault = self.fault;
    }

    fn into_entry(self, query: Option<&str>) -> JournalEntry {
        let mut entry = JournalEntry {
            method: String::new(),
            path: String::new(),
            query: None,
            status: 0,
            request_id: String::new(),
            correlation_id: String::new(),
            at: self.at,
            duration_ms: 0.0,
            body: None,
            fault: None,
        };
        self.write_over(query, &mut entry);
        entry
    }
}

/// `text`'s first `max` bytes at most, cut between characters.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `kept = value`, in `kept`'s memory unless it is far larger than needed.
fn set(kept: &mut String, value: &str) {
    kept.clear();
    kept.push_str(value);
    if kept.capacity() > 4 * value.len().max(64) {
        kept.shrink_to_fit();
    }
}

/// About what an entry costs in memory.
fn size_of(entry: &JournalEntry) -> usize {
    std::mem::size_of::<JournalEntry>()
        + entry.method.capacity()
        + entry.path.capacity()
        + entry.query.as_ref().map_or(0, String::capacity)
        + entry.request_id.capacity()
        + entry.correlation_id.capacity()
        + entry.body.as_ref().map_or(0, String::capacity)
        + entry.fault.as_ref().map_or(0, String::capacity)
}

impl RequestJournal {
    /// An empty journal, keeping of queries and bodies what `redaction` says.
    pub(crate) fn new(redaction: Redaction) -> Self {
        Self {
            state: Mutex::default(),
            redaction,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request's body as the journal keeps it: redacted, at most [`MAX_BODY`] bytes.
    pub(crate) fn body(&self, bytes: &[u8]) -> Option<String> {
        let mut kept = self.redaction.body(bytes)?;
        kept.truncate(cut(&kept, MAX_BODY).len());
        Some(kept)
    }

    /// Adds `sent` to `partner`'s journal, in place of its oldest request when it is full.
    pub(crate) fn record(&self, partner: TenantId, sent: Sent<'_>) {
        // Redacted before the lock is taken: that is the work a request's journaling costs.
        let query = sent.query.map(|query| self.redaction.query(query));
        let query = query.as_deref().map(|query| cut(query, MAX_PATH));
        let mut state = self.lock();
        state.change(partner, |journal| {
            if journal.entries.len() >= PER_PARTNER
                && let Some(mut oldest) = journal.entries.pop_back()
            {
                journal.bytes -= size_of(&oldest);
                sent.write_over(query, &mut oldest);
                journal.bytes += size_of(&oldest);
                journal.entries.push_front(oldest);
            } else {
                let entry = sent.into_entry(query);
                journal.bytes += size_of(&entry);
                journal.entries.push_front(entry);
            }
        });
        state.fit();
    }

    /// `partner`'s requests, newest first.
    pub(crate) fn entries(&self, partner: TenantId) -> Vec<JournalEntry> {
        self.lock()
            .partners
            .get(&partner)
            .map_or_else(Vec::new, |journal| {
                journal.entries.iter().cloned().collect()
            })
    }

    /// Forgets `partner`'s requests.
    pub(crate) fn clear(&self, partner: TenantId) {
        self.lock().change(partner, |journal| {
            journal.entries.clear();
            journal.bytes = 0;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records request `n` of `partner`, with `body`.
    fn record(journal: &RequestJournal, partner: TenantId, n: usize, body: Option<String>) {
        let (path, id) = (format!("/v1/customers/{n}"), n.to_string());
        journal.record(
            partner,
            Sent {
                method: "GET",
                path: &path,
                query: n.is_multiple_of(2).then_some("size=10"),
                status: 200,
                request_id: &id,
                correlation_id: &id,
                at: Timestamp::from_unix_millis(0).unwrap(),
                duration_ms: 1.0,
                body,
                fault: None,
            },
        );
    }

    fn partner(n: u8) -> TenantId {
        format!("{n:08x}-0000-4000-8000-000000000001")
            .parse()
            .unwrap()
    }

    fn journal() -> RequestJournal {
        RequestJournal::new(Redaction::of(&crate::router::document(
            true,
            qualify_app::settings::ContractProfile::Documented,
        )))
    }

    #[test]
    fn a_partners_journal_keeps_its_last_requests_newest_first() {
        let journal = journal();
        for n in 0..PER_PARTNER + 11 {
            record(&journal, partner(1), n, None);
        }
        let entries = journal.entries(partner(1));
        assert_eq!(entries.len(), PER_PARTNER);
        // Entries written over older ones hold the new request's every field.
        let newest = PER_PARTNER + 10;
        assert_eq!(entries[0].request_id, newest.to_string());
        assert_eq!(entries[0].path, format!("/v1/customers/{newest}"));
        assert_eq!(entries[0].query.as_deref(), Some("size=10"));
        assert_eq!(entries[1].query, None);
        assert_eq!(entries[PER_PARTNER - 1].request_id, "11");
        {
            let state = journal.lock();
            let counted: usize = state.partners[&partner(1)]
                .entries
                .iter()
                .map(size_of)
                .sum();
            assert_eq!(state.bytes, counted);
        }
        assert!(journal.entries(partner(2)).is_empty());
        journal.clear(partner(1));
        assert!(journal.entries(partner(1)).is_empty());
        assert_eq!(journal.lock().bytes, 0);
    }

    /// One client filling journal after journal of partners it made takes every other
    /// partner's journal down to a fair share at most: a partner with a few requests keeps them.
    #[test]
    fn every_journal_together_stays_within_the_budget_and_each_keeps_a_fair_share() {
        let journal = journal();
        let body = "x".repeat(MAX_BODY);
        for n in 0..10 {
            record(&journal, partner(0), n, None);
        }
        // Enough partners with full journals to pass the budget several times over.
        let partners = (BUDGET / (PER_PARTNER * MAX_BODY)) * 3 + 2;
        for p in 1..=partners {
            for n in 0..PER_PARTNER {
                record(
                    &journal,
                    partner(u8::try_from(p).unwrap()),
                    n,
                    Some(body.clone()),
                );
            }
        }
        let state = journal.lock();
        assert!(state.bytes <= BUDGET, "{} bytes", state.bytes);
        let counted: usize = state.partners.values().map(|j| j.bytes).sum();
        assert_eq!(counted, state.bytes);
        assert_eq!(state.by_size.len(), state.partners.len());
        assert_eq!(
            state.partners[&partner(0)].entries.len(),
            10,
            "the light partner's"
        );
        // The heavy ones share what is left evenly: within an entry of one another.
        let heavy: Vec<usize> = (1..=partners)
            .map(|p| state.partners[&partner(u8::try_from(p).unwrap())].bytes)
            .collect();
        let (least, most) = (heavy.iter().min().unwrap(), heavy.iter().max().unwrap());
        assert!(most - least <= 2 * (MAX_BODY + 512), "{least} to {most}");
    }

    #[test]
    fn a_long_path_or_query_is_kept_cut_and_a_body_redacted_and_cut() {
        let journal = journal();
        let path = format!("/v1/{}", "p".repeat(64 * 1024));
        let query = format!("filter={}", "q".repeat(64 * 1024));
        journal.record(
            partner(1),
            Sent {
                method: "GET",
                path: &path,
                query: Some(&query),
                status: 404,
                request_id: "",
                correlation_id: "",
                at: Timestamp::from_unix_millis(0).unwrap(),
                duration_ms: 1.0,
                body: journal
                    .body(br#"{"clientSecret":"s3cret","companyProfile":{"domain":"a.example"}}"#),
                fault: None,
            },
        );
        let entry = &journal.entries(partner(1))[0];
        assert_eq!(entry.path.len(), MAX_PATH);
        assert_eq!(entry.query.as_ref().unwrap().len(), MAX_PATH);
        let body = entry.body.as_deref().unwrap();
        assert!(
            !body.contains("s3cret") && body.contains("a.example"),
            "{body}"
        );
        let long = journal.body(format!("\"{}\"", "é".repeat(MAX_BODY)).as_bytes());
        assert!(long.unwrap().len() <= MAX_BODY);
    }
}
