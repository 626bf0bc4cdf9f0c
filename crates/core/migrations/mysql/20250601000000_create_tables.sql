-- Metadata of ccr_syncer (MySQL / MariaDB). Table names follow the reference syncer so
-- operators recognise them; time columns are Unix milliseconds written by the syncer.
-- utf8mb4_bin: names compare exactly (case- and accent-sensitive) and sort by code point,
-- like SQLite's default BINARY collation.

-- One row per replication job. job_info is the JSON job description.
CREATE TABLE jobs (
    job_name   VARCHAR(512) NOT NULL,
    job_info   TEXT         NOT NULL,
    belong_to  VARCHAR(255) NOT NULL COMMENT 'host:port of the owning syncer',
    created_at BIGINT       NOT NULL,
    updated_at BIGINT       NOT NULL,
    PRIMARY KEY (job_name),
    KEY jobs_belong_to (belong_to)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The job's progress JSON, stored as bound plain text (it can carry a whole snapshot's
-- metadata, hence LONGTEXT). Deleting a job deletes its progress, and a progress row cannot
-- exist without its job.
CREATE TABLE progresses (
    job_name   VARCHAR(512) NOT NULL,
    progress   LONGTEXT     NOT NULL,
    updated_at BIGINT       NOT NULL,
    PRIMARY KEY (job_name),
    CONSTRAINT progresses_job FOREIGN KEY (job_name) REFERENCES jobs (job_name) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per syncer process: identity host:port and its last heartbeat.
CREATE TABLE syncers (
    host_info    VARCHAR(255) NOT NULL,
    heartbeat_ms BIGINT       NOT NULL,
    PRIMARY KEY (host_info)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
