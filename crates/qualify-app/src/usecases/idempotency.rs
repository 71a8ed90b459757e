//! `MS-RequestId` idempotency around a use case: the first answer to a partner's request id is
//! stored in the transaction of the write it answers, so a retry either finds both or neither; a
//! retry of the same request gets that answer back and writes nothing, and the same id with
//! another request is refused.

use qualify_store::{IdempotencyRecord, Store, Tx};
use qualify_types::{TenantId, Timestamp};

use super::UseCaseError;

/// What makes two requests the same one: the partner, its request id, and a digest of what it
/// asked (method, path and normalised body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The partner.
    pub partner: TenantId,
    /// Its `MS-RequestId`.
    pub request_id: String,
    /// The digest of the request; a retry must match it.
    pub fingerprint: String,
}

/// A use case's answer as the client gets it: the status and JSON body, fresh or replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// An earlier answer to the same request, given again.
    pub replayed: bool,
}

/// Runs `work` in a transaction and answers with `answer` of its outcome; with a `key`, only
/// once per key: the answer is stored with the write (kept from `at`), and a retry is answered
/// from the store.
pub(crate) async fn once<T>(
    store: &Store,
    key: Option<&IdempotencyKey>,
    at: Timestamp,
    work: impl AsyncFnOnce(&mut Tx) -> Result<T, UseCaseError>,
    answer: impl FnOnce(T) -> Result<(u16, String), UseCaseError>,
) -> Result<Answer, UseCaseError> {
    let fresh = |(status, body)| Answer {
        status,
        body,
        replayed: false,
    };
    let Some(key) = key else {
        return answer(store.transaction(work).await?).map(fresh);
    };
    let outcome = store
        .transaction(async move |tx: &mut Tx| {
            if let Some(stored) = tx
                .find_idempotency_record(key.partner, &key.request_id)
                .await?
            {
                return Ok(Err(stored));
            }
            let (status, body) = answer(work(tx).await?)?;
            let record = IdempotencyRecord {
                partner_tenant_id: key.partner,
                request_id: key.request_id.clone(),
                fingerprint: key.fingerprint.clone(),
                status,
                body,
            };
            tx.save_idempotency_record(&record, at).await?;
            Ok(Ok((record.status, record.body)))
        })
        .await;
    let stored = match outcome {
        Ok(Ok(answered)) => return Ok(fresh(answered)),
        Ok(Err(stored)) => stored,
        // A concurrent retry of this request may have won a race this one lost (to the
        // customer's lock, or a uniqueness rule): its answer is the answer.
        Err(error) => match store
            .find_idempotency_record(key.partner, &key.request_id)
            .await?
        {
            Some(stored) => stored,
            None => return Err(error),
        },
    };
    if stored.fingerprint != key.fingerprint {
        return Err(UseCaseError::RequestIdReused);
    }
    Ok(Answer {
        status: stored.status,
        body: stored.body,
        replayed: true,
    })
}
