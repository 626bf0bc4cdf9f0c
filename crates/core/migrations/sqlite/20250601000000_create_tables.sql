-- Metadata of ccr_syncer (SQLite). Table names follow the reference syncer so operators
-- recognise them; time columns are Unix milliseconds written by the syncer.

-- One row per replication job. job_info is the JSON job description.
CREATE TABLE jobs (
    job_name   TEXT    NOT NULL PRIMARY KEY,
    job_info   TEXT    NOT NULL,
    belong_to  TEXT    NOT NULL,   -- host:port of the owning syncer
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Takeover and list_jobs_owned_by look jobs up by owner.
CREATE INDEX jobs_belong_to ON jobs (belong_to);

-- The job's progress JSON; deleting a job deletes its progress, and a progress row cannot
-- exist without its job.
CREATE TABLE progresses (
    job_name   TEXT    NOT NULL PRIMARY KEY REFERENCES jobs (job_name) ON DELETE CASCADE,
    progress   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- One row per syncer process: identity host:port and its last heartbeat.
CREATE TABLE syncers (
    host_info    TEXT    NOT NULL PRIMARY KEY,
    heartbeat_ms INTEGER NOT NULL
) STRICT;
