-- Qualify's schema, PostgreSQL dialect. Its twin in ../sqlite has the same version and meaning;
-- only the column types and the surrogate keys' syntax differ.

-- Tenants: partners, and the operator whose users review. Dev tenants are the well-known
-- identities seeded by --dev and refused without it.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('partner', 'operator')),
    name        TEXT NOT NULL,
    dev         BIGINT NOT NULL DEFAULT 0 CHECK (dev IN (0, 1)),
    disabled_at BIGINT,
    created_at  BIGINT NOT NULL
);

-- Registered applications (Entra "app registrations"): client id and a slow hash of the secret.
CREATE TABLE apps (
    client_id   TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    dev         BIGINT NOT NULL DEFAULT 0 CHECK (dev IN (0, 1)),
    disabled_at BIGINT,
    created_at  BIGINT NOT NULL
);

-- Users of a tenant; a reviewer is a user of the operator tenant with the reviewer role.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'reviewer')),
    dev           BIGINT NOT NULL DEFAULT 0 CHECK (dev IN (0, 1)),
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    CONSTRAINT users_username UNIQUE (username)
);

-- The token issuer's RSA keys (PKCS#8 PEM). Retired keys keep verifying until their tokens expire.
CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT
);

-- Customers of partners. seq orders pages; vetting_version is bumped by every submission, which
-- both serialises submissions for one customer and tells caches the customer changed.
CREATE TABLE customers (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    partner_tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    domain               TEXT NOT NULL,
    company_name         TEXT NOT NULL,
    email                TEXT,
    culture              TEXT,
    language             TEXT,
    billing_company_name TEXT,
    country              TEXT,
    region               TEXT,
    city                 TEXT,
    address_line1        TEXT,
    postal_code          TEXT,
    vetting_version      BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    CONSTRAINT customers_partner_domain UNIQUE (partner_tenant_id, domain)
);
CREATE INDEX customers_by_partner ON customers (partner_tenant_id, seq);

-- One row per submission. The partial unique index is the database's guarantee that a customer
-- never has two requests of one qualification in review or approved at once.
CREATE TABLE vetting_requests (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    partner_tenant_id TEXT NOT NULL REFERENCES tenants (id),
    qualification     TEXT NOT NULL
        CHECK (qualification IN ('Education', 'GovernmentCommunityCloud', 'StateOwnedEntity')),
    education_segment TEXT CHECK (education_segment IN ('K12', 'HigherEducation')),
    website           TEXT,
    validation_code   TEXT,
    channel           TEXT NOT NULL CHECK (channel IN ('api', 'legacy')),
    attempt           BIGINT NOT NULL CHECK (attempt >= 1),
    status            TEXT NOT NULL CHECK (status IN ('InReview', 'Approved', 'Denied')),
    reason            TEXT,
    created_at        BIGINT NOT NULL,
    decided_at        BIGINT,
    decided_by        TEXT,
    CONSTRAINT vetting_requests_attempt UNIQUE (customer_id, qualification, attempt),
    CHECK ((status = 'Denied') = (reason IS NOT NULL)),
    CHECK ((status = 'InReview') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX vetting_requests_one_held
    ON vetting_requests (customer_id, qualification) WHERE status IN ('InReview', 'Approved');
CREATE INDEX vetting_requests_by_customer ON vetting_requests (customer_id, seq);
CREATE INDEX vetting_requests_by_status ON vetting_requests (status, seq);

-- GCC validation codes; remaining_creates can never go below zero.
CREATE TABLE validation_codes (
    partner_tenant_id TEXT NOT NULL REFERENCES tenants (id),
    validation_id     TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    max_creates       BIGINT NOT NULL CHECK (max_creates >= 0),
    remaining_creates BIGINT NOT NULL CHECK (remaining_creates >= 0 AND remaining_creates <= max_creates),
    dev               BIGINT NOT NULL DEFAULT 0 CHECK (dev IN (0, 1)),
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (partner_tenant_id, validation_id)
);

-- MS-RequestId idempotency: the first response to each partner's request id, kept at least 24h.
CREATE TABLE idempotency_keys (
    partner_tenant_id TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    status            BIGINT NOT NULL,
    body              TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (partner_tenant_id, request_id)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Who did what, when, and why: written in the same transaction as the change it records.
CREATE TABLE audit_events (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT NOT NULL,
    actor_tenant_id TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX audit_events_by_subject ON audit_events (subject_id, seq);
