//! The journal: what each partner's code sent, newest first, so a test can check its requests
//! (ids, paths, bodies) as Qualify received them. Never a token: headers other than the request
//! ids are not kept, and values of keys naming a secret are redacted from bodies. Bounded: the
//! last [`PER_PARTNER`] requests of a partner, each body cut at [`MAX_BODY`] bytes, and at most
//! [`BUDGET`] bytes in all, the least recently active partners' journals going first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use qualify_types::{JournalEntry, TenantId};
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

/// About what an entry costs in memory.
fn size_of(entry: &JournalEntry) -> usize {
    std::mem::size_of::<JournalEntry>()
        + entry.method.len()
        + entry.path.len()
        + entry.query.as_ref().map_or(0, String::len)
        + entry.request_id.len()
        + entry.correlation_id.len()
        + entry.body.as_ref().map_or(0, String::len)
        + entry.fault.as_ref().map_or(0, String::len)
}

impl RequestJournal {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `entry` to `partner`'s journal.
    pub(crate) fn record(&self, partner: TenantId, entry: JournalEntry) {
        let size = size_of(&entry);
        let mut state = self.lock();
        state.writes += 1;
        let writes = state.writes;
        let journal = state.partners.entry(partner).or_default();
        journal.entries.push_front(entry);
        journal.bytes += size;
        journal.written = writes;
        let mut freed = 0;
        while journal.entries.len() > PER_PARTNER {
            if let Some(oldest) = journal.entries.pop_back() {
                let oldest = size_of(&oldest);
                journal.bytes -= oldest;
                freed += oldest;
            }
        }
        state.bytes = state.bytes + size - freed;
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
    use qualify_types::Timestamp;

    fn entry(n: usize, body: Option<String>) -> JournalEntry {
        JournalEntry {
            method: "GET".into(),
            path: format!("/v1/customers/{n}"),
            query: None,
            status: 200,
            request_id: n.to_string(),
            correlation_id: n.to_string(),
            at: Timestamp::from_unix_millis(0).unwrap(),
            duration_ms: 1.0,
            body,
            fault: None,
        }
    }

    fn partner(n: u8) -> TenantId {
        format!("{n:08x}-0000-4000-8000-000000000001")
            .parse()
            .unwrap()
    }

    #[test]
    fn a_partners_journal_keeps_its_last_requests_newest_first() {
        let journal = RequestJournal::default();
        for n in 0..PER_PARTNER + 10 {
            journal.record(partner(1), entry(n, None));
        }
        let entries = journal.entries(partner(1));
        assert_eq!(entries.len(), PER_PARTNER);
        assert_eq!(entries[0].request_id, (PER_PARTNER + 9).to_string());
        assert_eq!(entries[PER_PARTNER - 1].request_id, "10");
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
                journal.record(
                    partner(u8::try_from(p).unwrap()),
                    entry(n, Some(body.clone())),
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
