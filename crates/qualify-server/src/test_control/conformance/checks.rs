//! The checks: each reads a partner's requests (oldest first) and tokens as the journal kept
//! them and notes what Partner Center's guidance says a client should not do, with the requests
//! that show it. docs/conformance.md describes each code; they are stable.

use std::collections::{BTreeMap, HashMap, VecDeque};

use qualify_types::{ConformanceEvidence, ConformanceFinding, JournalEntry, Severity, Timestamp};

use crate::test_control::journal::{Facts, TokenIssued};

/// Microsoft's throttling guidance: honour `Retry-After`, back off, don't poll continuously.
const THROTTLING: &str =
    "https://learn.microsoft.com/en-us/partner-center/developer/api-throttling-guidance";
/// Partner Center's REST headers: `MS-RequestId`, `MS-CorrelationId`, `MS-Contract-Version`.
const HEADERS: &str = "https://learn.microsoft.com/en-us/partner-center/developer/headers";
/// MSAL's token cache: ask for a token once and use it until it is about to expire.
const TOKENS: &str =
    "https://learn.microsoft.com/en-us/entra/identity-platform/msal-acquire-cache-tokens";
/// The qualification API, whose plural endpoints replace the singular ones.
const QUALIFICATIONS: &str = "https://learn.microsoft.com/en-us/partner-center/developer/get-customer-qualification-asynchronous";

/// A retried write within this long of its first attempt is taken for a retry.
const RETRY_WINDOW_MS: i64 = 60_000;
/// Requests shown per finding: its latest occurrence's.
const EVIDENCE_SHOWN: usize = 3;
/// Polls answered `InReview` in a row, at intervals that never grew, before that is a finding.
const POLLS_BEFORE_BACKOFF: usize = 5;
/// The window polls are counted in.
const MINUTE_MS: i64 = 60_000;

/// What the qualifications handler tells the journal of its answer: whether a request is still
/// in review (a response extension, read as the request is journaled).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollAnswer {
    /// A qualification of the customer is `InReview`.
    pub(crate) in_review: bool,
}

/// `path` with every id segment (a GUID) written `{id}`: the route, as operations are told
/// apart.
pub(crate) fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if uuid::Uuid::try_parse(segment).is_ok() {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// An answer after which a client can't know whether its write was done: a retry must repeat
/// its `MS-RequestId`.
fn outcome_unknown(status: u16) -> bool {
    status == 0 || status == 408 || status == 429 || status >= 500
}

fn millis(at: Timestamp) -> i64 {
    at.unix_millis()
}

fn evidence(entry: &JournalEntry, note: impl Into<String>) -> ConformanceEvidence {
    let mut path = entry.path.clone();
    path.truncate(crate::test_control::journal::MAX_PATH.min(256));
    ConformanceEvidence {
        method: entry.method.clone(),
        path,
        at: entry.at,
        request_id: entry.request_id.clone(),
        correlation_id: entry.correlation_id.clone(),
        status: entry.status,
        note: note.into(),
    }
}

/// Findings as they are noted: one per code and subject, counting occurrences.
#[derive(Default)]
struct Findings(BTreeMap<(&'static str, String), ConformanceFinding>);

impl Findings {
    /// Notes one occurrence of `code` about `subject` (a route, a customer, a client), shown by
    /// `shown`.
    fn note(
        &mut self,
        (code, severity, guidance): (&'static str, Severity, &'static str),
        subject: &str,
        message: String,
        shown: Vec<ConformanceEvidence>,
    ) {
        let Some(at) = shown.iter().map(|e| e.at).max() else {
            return;
        };
        let mut shown = shown;
        shown.truncate(EVIDENCE_SHOWN);
        self.0
            .entry((code, subject.to_owned()))
            .and_modify(|finding| {
                finding.count += 1;
                finding.message.clone_from(&message);
                finding.evidence.clone_from(&shown);
                finding.last_seen = finding.last_seen.max(at);
            })
            .or_insert_with(|| ConformanceFinding {
                code: code.to_owned(),
                severity,
                message: message.clone(),
                count: 1,
                last_seen: at,
                evidence: shown.clone(),
                guidance: guidance.to_owned(),
            });
    }
}

const RETRY_AFTER_IGNORED: (&str, Severity, &str) =
    ("retry-after-ignored", Severity::Error, THROTTLING);
const RETRY_WITHOUT_BACKOFF: (&str, Severity, &str) =
    ("retry-without-backoff", Severity::Warning, THROTTLING);
const WRITE_RETRIED_WITH_NEW_REQUEST_ID: (&str, Severity, &str) = (
    "write-retried-with-new-request-id",
    Severity::Error,
    HEADERS,
);
const REQUEST_ID_REUSED: (&str, Severity, &str) = ("request-id-reused", Severity::Error, HEADERS);
const REQUEST_ID_MISSING: (&str, Severity, &str) =
    ("request-id-missing", Severity::Warning, HEADERS);
const CORRELATION_ID_MISSING: (&str, Severity, &str) =
    ("correlation-id-missing", Severity::Info, HEADERS);
const CONTRACT_VERSION_MISSING: (&str, Severity, &str) =
    ("contract-version-missing", Severity::Info, HEADERS);
const TOKEN_PER_CALL: (&str, Severity, &str) = ("token-per-call", Severity::Warning, TOKENS);
const POLLING_TOO_FAST: (&str, Severity, &str) =
    ("polling-too-fast", Severity::Warning, THROTTLING);
const POLLING_WITHOUT_BACKOFF: (&str, Severity, &str) =
    ("polling-without-backoff", Severity::Info, THROTTLING);
pub(super) const RETIRED_ENDPOINT: (&str, Severity, &str) =
    ("retired-endpoint", Severity::Error, QUALIFICATIONS);

/// Whether `route` is one of the retired singular qualification endpoints.
pub(super) fn retired(route: &str) -> bool {
    route == "/v1/customers/{id}/qualification"
}

/// Every finding in `requests` and `tokens` (each newest first, as the journal keeps them),
/// more than `polls_per_minute` polls of one customer in a minute counting as too many.
pub(super) fn findings(
    requests: &VecDeque<(JournalEntry, Facts)>,
    tokens: &VecDeque<TokenIssued>,
    polls_per_minute: u32,
) -> Vec<ConformanceFinding> {
    let mut found = Findings::default();
    let oldest_first: Vec<(&JournalEntry, &Facts)> =
        requests.iter().rev().map(|(e, f)| (e, f)).collect();
    throttling(&oldest_first, &mut found);
    request_ids(&oldest_first, &mut found);
    headers(&oldest_first, &mut found);
    polling(&oldest_first, polls_per_minute, &mut found);
    tokens_per_call(&oldest_first, tokens, &mut found);
    found.0.into_values().collect()
}

/// Requests sent before an earlier 429's `Retry-After` had passed, and 429s retried at
/// intervals that never grow.
fn throttling(requests: &[(&JournalEntry, &Facts)], found: &mut Findings) {
    // By operation: the 429 that throttled it and until when; the times of its 429s in a row.
    let mut throttled: HashMap<String, (usize, i64)> = HashMap::new();
    let mut refused_in_a_row: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, (entry, facts)) in requests.iter().enumerate() {
        let operation = format!("{} {}", entry.method, route_of(&entry.path));
        let at = millis(entry.at);
        if let Some(&(by, until)) = throttled.get(&operation)
            && at < until
        {
            let (refused, _) = requests[by];
            found.note(
                RETRY_AFTER_IGNORED,
                &operation,
                format!(
                    "{operation} was sent {:.1} s after a 429 whose Retry-After asked for {} s",
                    (at - millis(refused.at)) as f64 / 1000.0,
                    (until - millis(refused.at)) / 1000
                ),
                vec![
                    evidence(refused, "throttled, with Retry-After"),
                    evidence(entry, "sent before Retry-After had passed"),
                ],
            );
        }
        if entry.status != 429 {
            refused_in_a_row.remove(&operation);
            continue;
        }
        if let Some(seconds) = facts.retry_after {
            throttled.insert(operation.clone(), (index, at + i64::from(seconds) * 1000));
        }
        let run = refused_in_a_row.entry(operation.clone()).or_default();
        run.push(index);
        if let [.., a, b, c] = run[..] {
            let gap = |x: usize, y: usize| millis(requests[y].0.at) - millis(requests[x].0.at);
            let (before, after) = (gap(a, b), gap(b, c));
            if after <= before {
                found.note(
                    RETRY_WITHOUT_BACKOFF,
                    &operation,
                    format!(
                        "{operation} was retried after 429s at intervals that did not grow ({:.1} s, then {:.1} s)",
                        before as f64 / 1000.0,
                        after as f64 / 1000.0
                    ),
                    [a, b, c]
                        .iter()
                        .map(|&i| evidence(requests[i].0, "throttled"))
                        .collect(),
                );
            }
        }
    }
}

/// Writes retried under a new `MS-RequestId` (a second operation in Partner Center), and one
/// `MS-RequestId` used for two different operations.
fn request_ids(requests: &[(&JournalEntry, &Facts)], found: &mut Findings) {
    let mut writes: HashMap<(&str, &str, u64), usize> = HashMap::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (index, (entry, facts)) in requests.iter().enumerate() {
        if is_write(&entry.method) {
            let key = (entry.method.as_str(), entry.path.as_str(), facts.body_hash);
            if let Some(&first) = writes.get(&key) {
                let (earlier, _) = requests[first];
                if earlier.request_id != entry.request_id
                    && millis(entry.at) - millis(earlier.at) <= RETRY_WINDOW_MS
                    && outcome_unknown(earlier.status)
                {
                    let operation = format!("{} {}", entry.method, route_of(&entry.path));
                    found.note(
                        WRITE_RETRIED_WITH_NEW_REQUEST_ID,
                        &operation,
                        format!(
                            "{operation} was retried with the same body under a new MS-RequestId after {}: Partner Center takes that for a second operation",
                            if earlier.status == 0 {
                                "no answer".to_owned()
                            } else {
                                format!("a {}", earlier.status)
                            }
                        ),
                        vec![
                            evidence(earlier, "the first attempt"),
                            evidence(entry, "the retry, under another MS-RequestId"),
                        ],
                    );
                }
            }
            writes.insert(key, index);
        }
        if !facts.client_request_id {
            continue;
        }
        if let Some(&first) = ids.get(entry.request_id.as_str()) {
            let (earlier, earlier_facts) = requests[first];
            let same = earlier.method == entry.method
                && earlier.path == entry.path
                && earlier_facts.body_hash == facts.body_hash;
            if !same {
                found.note(
                    REQUEST_ID_REUSED,
                    &entry.request_id,
                    format!(
                        "MS-RequestId {} was sent with {} {} and again with {} {}: a new operation needs a new one",
                        entry.request_id,
                        earlier.method,
                        route_of(&earlier.path),
                        entry.method,
                        route_of(&entry.path)
                    ),
                    vec![
                        evidence(earlier, "first used here"),
                        evidence(entry, "reused for another operation"),
                    ],
                );
            }
        }
        ids.insert(&entry.request_id, index);
    }
}

/// Headers Partner Center's REST conventions ask of every call.
fn headers(requests: &[(&JournalEntry, &Facts)], found: &mut Findings) {
    for (entry, facts) in requests {
        let operation = format!("{} {}", entry.method, route_of(&entry.path));
        if is_write(&entry.method) && !facts.client_request_id {
            found.note(
                REQUEST_ID_MISSING,
                "",
                format!(
                    "{operation} was sent without MS-RequestId: a retry after a timeout can't be told from a new write"
                ),
                vec![evidence(entry, "no MS-RequestId")],
            );
        }
        if !facts.client_correlation_id {
            found.note(
                CORRELATION_ID_MISSING,
                "",
                format!("{operation} was sent without MS-CorrelationId"),
                vec![evidence(entry, "no MS-CorrelationId")],
            );
        }
        if !facts.contract_version {
            found.note(
                CONTRACT_VERSION_MISSING,
                "",
                format!("{operation} was sent without MS-Contract-Version"),
                vec![evidence(entry, "no MS-Contract-Version")],
            );
        }
        if retired(&route_of(&entry.path)) {
            found.note(
                RETIRED_ENDPOINT,
                &operation,
                format!(
                    "{operation} is a retired endpoint: use /v1/customers/{{id}}/qualifications"
                ),
                vec![evidence(entry, "a retired endpoint")],
            );
        }
    }
}

/// More than `polls_per_minute` polls of one customer's qualifications in a minute, and runs of
/// polls of a request in review whose intervals never grew (a client that backs off and then
/// polls at its longest interval has backed off).
fn polling(requests: &[(&JournalEntry, &Facts)], polls_per_minute: u32, found: &mut Findings) {
    #[derive(Default)]
    struct Polled {
        /// The polls of the last minute, oldest first.
        recent: VecDeque<usize>,
        /// The last interval, and the current run of polls in review.
        interval: Option<i64>,
        in_review_run: usize,
        grew: bool,
    }
    let most = usize::try_from(polls_per_minute).unwrap_or(usize::MAX);
    let mut customers: HashMap<&str, Polled> = HashMap::new();
    for (index, (entry, facts)) in requests.iter().enumerate() {
        let polls_qualifications = entry.method == "GET"
            && route_of(&entry.path) == "/v1/customers/{id}/qualifications"
            && entry.status == 200;
        if !polls_qualifications {
            continue;
        }
        let at = millis(entry.at);
        let polled = customers.entry(&entry.path).or_default();
        if let Some(&last) = polled.recent.back() {
            let interval = at - millis(requests[last].0.at);
            polled.grew |= polled.interval.is_some_and(|before| interval > before);
            polled.interval = Some(interval);
        }
        while polled
            .recent
            .front()
            .is_some_and(|&first| at - millis(requests[first].0.at) >= MINUTE_MS)
        {
            polled.recent.pop_front();
        }
        polled.recent.push_back(index);
        if polled.recent.len() > most {
            let first = requests[polled.recent[0]].0;
            found.note(
                POLLING_TOO_FAST,
                &entry.path,
                format!(
                    "one customer's qualifications were polled {} times in {:.0} s (at most {most} a minute is no finding)",
                    polled.recent.len(),
                    (at - millis(first.at)) as f64 / 1000.0
                ),
                vec![
                    evidence(first, "the first poll of the minute"),
                    evidence(entry, "the latest"),
                ],
            );
        }
        if facts.in_review {
            if polled.in_review_run == 0 {
                polled.grew = false;
            }
            polled.in_review_run += 1;
        } else {
            polled.in_review_run = 0;
        }
        if polled.in_review_run >= POLLS_BEFORE_BACKOFF && !polled.grew {
            found.note(
                POLLING_WITHOUT_BACKOFF,
                &entry.path,
                format!(
                    "a customer in review was polled {} times in a row at intervals that never grew",
                    polled.in_review_run
                ),
                vec![evidence(entry, "still in review; polled again no later")],
            );
        }
    }
}

/// Tokens asked for while the client's previous one had most of its life left, about as often
/// as calls were made: a token per call.
fn tokens_per_call(
    requests: &[(&JournalEntry, &Facts)],
    tokens: &VecDeque<TokenIssued>,
    found: &mut Findings,
) {
    let mut by_client: HashMap<(uuid::Uuid, bool), Vec<&TokenIssued>> = HashMap::new();
    for token in tokens.iter().rev() {
        by_client
            .entry((token.client_id, token.user))
            .or_default()
            .push(token);
    }
    for ((client_id, user), issued) in by_client {
        let early: Vec<(&TokenIssued, &TokenIssued)> = issued
            .windows(2)
            .map(|pair| (pair[0], pair[1]))
            .filter(|(previous, next)| {
                let lifetime_ms = i64::try_from(previous.lifetime_secs * 1000).unwrap_or(i64::MAX);
                let left = millis(previous.at) + lifetime_ms - millis(next.at);
                left > lifetime_ms / 2
            })
            .collect();
        let Some(first) = issued.first() else {
            continue;
        };
        let calls = requests
            .iter()
            .filter(|(entry, _)| entry.at >= first.at)
            .count();
        if early.len() < 2 || issued.len() * 2 < calls {
            continue;
        }
        let kind = if user { "App+User" } else { "App-only" };
        let shown = early
            .iter()
            .rev()
            .take(EVIDENCE_SHOWN)
            .map(|(previous, next)| ConformanceEvidence {
                method: "POST".into(),
                path: "/{tenant}/oauth2/v2.0/token".into(),
                at: next.at,
                request_id: String::new(),
                correlation_id: String::new(),
                status: 200,
                note: format!(
                    "a new {kind} token while the one issued {:.0} s before had most of its {} s left",
                    (millis(next.at) - millis(previous.at)) as f64 / 1000.0,
                    previous.lifetime_secs
                ),
            })
            .collect();
        found.note(
            TOKEN_PER_CALL,
            &format!("{client_id} {kind}"),
            format!(
                "application {client_id} asked for {} {kind} tokens for {calls} calls, {} of them while the previous token had most of its life left: cache the token",
                issued.len(),
                early.len()
            ),
            shown,
        );
    }
}
