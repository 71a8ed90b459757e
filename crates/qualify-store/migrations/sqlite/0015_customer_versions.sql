-- PostgreSQL's 0015 bumps a customer's vetting_version on every change to its requests, for the
-- nodes' read caches. SQLite's read cache learns of changes from the writer's update hook
-- (read_cache/changes.rs) and needs no version: nothing changes here, and the migration keeps
-- both databases' versions in step.
SELECT 1;
