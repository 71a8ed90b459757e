-- Lanes that can't block each other: a rule's timed decisions never wait behind deliveries, and
-- each receiver's deliveries are counted apart, so one receiver's backlog never delays another's.
-- A job's lane is fixed by its kind; a delivery also names its receiver (a partner's registered
-- receiver, or one of the operator's webhooks).
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'decisions';
ALTER TABLE jobs ADD COLUMN receiver TEXT;
UPDATE jobs SET lane = 'deliveries' WHERE kind IN ('webhook.deliver', 'partner-webhook.deliver');
CREATE INDEX jobs_due_by_lane ON jobs (lane, run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_leased_by_receiver ON jobs (receiver, locked_until)
    WHERE state = 'pending' AND receiver IS NOT NULL;
-- Ended jobs are forgotten by age, whatever their kind.
CREATE INDEX jobs_ended ON jobs (finished_at) WHERE state <> 'pending';

-- Receivers that keep failing or timing out, backed off (a circuit breaker): while open_until
-- is ahead, none of the receiver's deliveries is claimed, so it holds no worker. Cleared by a
-- delivery that succeeds.
CREATE TABLE job_receivers (
    receiver   TEXT PRIMARY KEY,
    failures   BIGINT NOT NULL,
    open_until BIGINT
);
