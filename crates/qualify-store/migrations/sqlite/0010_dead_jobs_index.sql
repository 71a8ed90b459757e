-- The jobs given up, found without reading the done ones (the bulk of the table): each
-- metrics scrape counts them by kind.
CREATE INDEX jobs_dead ON jobs (kind) WHERE state = 'dead';
