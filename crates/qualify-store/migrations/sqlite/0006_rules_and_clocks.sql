-- Vetting rules and partners' clocks (development mode).

-- The rule that matched a submission, if any: it decided the request, will decide it later,
-- or held it for a reviewer.
ALTER TABLE vetting_requests ADD COLUMN matched_rule TEXT;

-- How far each partner's clock runs ahead of the server's (only --dev moves it; it never goes
-- back). A partner without a row runs on the server's clock.
CREATE TABLE partner_clocks (
    partner_tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    offset_ms         INTEGER NOT NULL CHECK (offset_ms >= 0)
) STRICT;

-- A job on a partner's clock (a rule's timed decision): its run_at moves earlier when that
-- partner's clock is advanced. NULL: the server's clock (webhook deliveries).
ALTER TABLE jobs ADD COLUMN clock_partner TEXT;
CREATE INDEX jobs_on_partner_clocks ON jobs (clock_partner, run_at)
    WHERE state = 'pending' AND clock_partner IS NOT NULL;
