-- Partner Center's webhooks (/webhooks/v1/registration): a partner's one registration, the
-- validation events it asks for, every attempt to deliver to it, and the key and certificate
-- that sign what is delivered.

-- Jobs with the same sequence key run one at a time, in the order they were enqueued: a
-- customer's events reach a receiver in the order they happened.
ALTER TABLE jobs ADD COLUMN sequence_key TEXT;
CREATE INDEX jobs_in_sequence ON jobs (sequence_key, id)
    WHERE state = 'pending' AND sequence_key IS NOT NULL;

CREATE TABLE webhook_registrations (
    partner_tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    subscriber_id     TEXT NOT NULL,
    url               TEXT NOT NULL,
    events            TEXT NOT NULL, -- a JSON array of event names
    -- Partner Center's SignatureTokenToMsSignatureHeader: the signature goes in x-ms-signature
    -- instead of Authorization.
    signature_header  INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_validation_events (
    correlation_id    TEXT PRIMARY KEY,
    partner_tenant_id TEXT NOT NULL REFERENCES tenants (id),
    url               TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    finished_at       INTEGER
) STRICT;
CREATE INDEX webhook_validation_events_by_partner
    ON webhook_validation_events (partner_tenant_id, created_at);

CREATE TABLE webhook_deliveries (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT NOT NULL, -- a validation event's correlation id, or the event's id
    job_id            INTEGER NOT NULL,
    partner_tenant_id TEXT NOT NULL,
    event_name        TEXT NOT NULL,
    url               TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    at                INTEGER NOT NULL,
    status_code       INTEGER, -- NULL: no answer
    latency_ms        INTEGER NOT NULL,
    error             TEXT
) STRICT;
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id, seq);
CREATE INDEX webhook_deliveries_by_partner ON webhook_deliveries (partner_tenant_id, seq);

-- One signing key for every node; its private key sealed like the token signing keys.
CREATE TABLE webhook_signing_keys (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    private_key_pem TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
