-- A partner's own vetting rules, set by its tests (development mode): tried before the server's
-- rules file. Kept in the database so that every node applies the same ones.
CREATE TABLE partner_rules (
    partner_tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    -- The rules as set (JSON), with what remains of each one's `times`.
    rules             TEXT NOT NULL,
    -- A new value at every change, so a node knows its copy is stale.
    revision          TEXT NOT NULL
) STRICT;
