-- At most one signing key is active (unretired) at a time. When several nodes start on an empty
-- database at once, each generates a key, and this index lets exactly one of them be stored; the
-- others read the winner's.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
