-- Each receiver's deliveries in order, so a claim reads a few rows of each receiver that may take
-- more (skipping from one receiver to the next through the index) instead of every delivery
-- waiting: a backlog of one receiver, backed off or at its limit, costs the others nothing.
CREATE INDEX jobs_due_by_receiver ON jobs (receiver, run_at, id)
    WHERE state = 'pending' AND receiver IS NOT NULL;
