-- The fencing token of a job's ownership: it goes up by one every time the job changes
-- owner, and every progress write names the epoch it was made under, so a syncer that lost
-- the job (declared dead while frozen, say) can no longer write.
ALTER TABLE jobs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;
