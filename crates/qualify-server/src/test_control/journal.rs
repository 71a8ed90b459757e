//! The journal: what each partner's code sent, newest first, so a test can check its requests
//! (ids, paths, bodies) as Qualify received them. Never a token: headers other than the request
//! ids are not kept, and values of keys naming a secret are redacted from bodies. Bounded: the
//! last [`PER_PARTNER`] requests of a partner, each body cut at [`MAX_BODY`] bytes, and at most
//! [`BUDGET`] bytes in all, the least recently active partners' journals going first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use qualify_types::{JournalEntry, TenantId, Timestamp};
use serde_json::Value;

/// Requests kept per partner.
pub(crate) const PER_PARTNER: usize = 1_000;
/// The longest body kept, in bytes.
pub(crate) const MAX_BODY: usize = 4 * 1024;
/// The most bytes every journal together may hold.
const BUDGET: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct PartnerJournal {
    entries: VecDeque<JournalEntry>,
    bytes: usize,
    /// When it was last written, in writes of the whole journal: the eviction order.
    written: u64,
}

#[derive(Debug, Default)]
struct State {
    partners: HashMap<TenantId, PartnerJournal>,
    bytes: usize,
    writes: u64,
}

/// Every partner's journal, on this node.
#[derive(Debug, Default)]
pub(crate) struct RequestJournal {
    state: Mutex<State>,
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
    fn write_over(self, entry: &mut JournalEntry) {
        set(&mut entry.method, self.method);
        set(&mut entry.path, self.path);
        match (self.query, &mut entry.query) {
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

    fn into_entry(self) -> JournalEntry {
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
        self.write_over(&mut entry);
        entry
    }
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
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `sent` to `partner`'s journal, in place of its oldest request when it is full.
    pub(crate) fn record(&self, partner: TenantId, sent: Sent<'_>) {
        let mut state = self.lock();
        state.writes += 1;
        let writes = state.writes;
        let journal = state.partners.entry(partner).or_default();
        journal.written = writes;
        let before = journal.bytes;
        if journal.entries.len() >= PER_PARTNER
            && let Some(mut oldest) = journal.entries.pop_back()
        {
            journal.bytes -= size_of(&oldest);
            sent.write_over(&mut oldest);
            journal.bytes += size_of(&oldest);
            journal.entries.push_front(oldest);
        } else {
            let entry = sent.into_entry();
            journal.bytes += size_of(&entry);
            journal.entries.push_front(entry);
        }
        let after = journal.bytes;
        state.bytes = state.bytes + after - before;
        while state.bytes > BUDGET {
            let Some(idlest) = state
                .partners
                .iter()
                .filter(|(id, _)| **id != partner)
                .min_by_key(|(_, journal)| journal.written)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(evicted) = state.partners.remove(&idlest) {
                state.bytes -= evicted.bytes;
            }
        }
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
        let mut state = self.lock();
        if let Some(journal) = state.partners.remove(&partner) {
            state.bytes -= journal.bytes;
        }
    }
}

/// Does a key name something secret?
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "authorization",
        "assertion",
        "key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if secret_key(key) {
                    *inner = Value::String("<redacted>".into());
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A request body as the journal keeps it: JSON with its secrets' values redacted, anything
/// else as text (lossy UTF-8); at most [`MAX_BODY`] bytes of it.
pub(crate) fn body_for_journal(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(mut json) => {
            redact(&mut json);
            json.to_string()
        }
        // Not JSON: a form may carry secrets too, and nothing tells which; keep its shape only.
        Err(_) if bytes.contains(&b'=') => "<a non-JSON body, not kept>".to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    let mut cut = text.len().min(MAX_BODY);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(text[..cut].to_owned())
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

    #[test]
    fn a_partners_journal_keeps_its_last_requests_newest_first() {
        let journal = RequestJournal::default();
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

    #[test]
    fn every_journal_together_stays_within_the_budget() {
        let journal = RequestJournal::default();
        let body = "x".repeat(MAX_BODY);
        // Enough partners with full journals to pass the budget several times over.
        let partners = (BUDGET / (PER_PARTNER * MAX_BODY)) * 3 + 2;
        for p in 0..partners {
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
        // The most recently active partner's journal is whole.
        let last = partner(u8::try_from(partners - 1).unwrap());
        assert_eq!(state.partners[&last].entries.len(), PER_PARTNER);
    }

    #[test]
    fn a_body_is_kept_without_its_secrets_and_cut_to_size() {
        let kept = body_for_journal(
            br#"{"companyProfile":{"domain":"a.example"},"clientSecret":"s3cret","nested":[{"password":"p"}]}"#,
        )
        .unwrap();
        assert!(
            !kept.contains("s3cret") && !kept.contains("\"p\""),
            "{kept}"
        );
        assert!(kept.contains("a.example"), "{kept}");
        let form = body_for_journal(b"grant_type=password&password=p").unwrap();
        assert!(!form.contains("password=p"), "{form}");
        let long = body_for_journal("é".repeat(MAX_BODY).as_bytes()).unwrap();
        assert!(long.len() <= MAX_BODY);
        assert_eq!(body_for_journal(b""), None);
    }
}
