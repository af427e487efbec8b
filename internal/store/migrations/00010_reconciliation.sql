-- Reconciliation: runs, their ends, the differences they found and the operators'
-- resolutions. All four are append-only: a run's end and a difference's resolution
-- are facts of their own (one row each, keyed so that a second one is refused), never
-- an edit of the run or the difference.

-- +goose Up
-- The UTC day a bank transfer was recorded, derived from created_at (so that no
-- writer has to fill it in), and the index that reads one channel's day in reference
-- order, one keyset page after another: the order the matching merges in. It covers
-- the compared fields, so that a page is one range scan of the index (measured: two
-- to three times faster on MariaDB than looking up each row). SUBSTR of the DATETIME
-- gives 'YYYY-MM-DD' on both databases (created_at is written in UTC).
ALTER TABLE bank_transfers ADD COLUMN day VARCHAR(10) AS (SUBSTR(created_at, 1, 10)) VIRTUAL;
CREATE INDEX bank_transfers_channel_day_reference ON bank_transfers (channel, day, reference, kind, amount, currency, status);

-- One row per run. attempt numbers the runs of a channel and day (a rerun is the next
-- attempt); the unique index lets exactly one of two concurrent requests create it.
CREATE TABLE reconciliations (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    channel    VARCHAR(32) NOT NULL,
    day        VARCHAR(10) NOT NULL,
    attempt    INT         NOT NULL,
    created_at DATETIME(6) NOT NULL
);
CREATE UNIQUE INDEX reconciliations_channel_day_attempt ON reconciliations (channel, day, attempt);

-- The end of a run (completed or failed) with its counts; at most one per run.
CREATE TABLE reconciliation_results (
    reconciliation_id   VARCHAR(64)   NOT NULL PRIMARY KEY,
    status              VARCHAR(16)   NOT NULL,
    statement_lines     BIGINT        NOT NULL,
    our_records         BIGINT        NOT NULL,
    matched             BIGINT        NOT NULL,
    missing_on_our_side BIGINT        NOT NULL,
    missing_at_bank     BIGINT        NOT NULL,
    amount_mismatch     BIGINT        NOT NULL,
    status_mismatch     BIGINT        NOT NULL,
    malformed           BIGINT        NOT NULL,
    unknown_currency    BIGINT        NOT NULL,
    duplicate_reference BIGINT        NOT NULL,
    error               VARCHAR(1000) NOT NULL DEFAULT '',
    created_at          DATETIME(6)   NOT NULL
);

-- Differences, inserted in batches while the run streams. The unique key makes a
-- resumed run's second insert of a difference a no-op: line is the statement line
-- (0 for a reference missing at the bank), so that two bad lines with one reference
-- stay two differences.
CREATE TABLE reconciliation_differences (
    id                VARCHAR(64)   NOT NULL PRIMARY KEY,
    reconciliation_id VARCHAR(64)   NOT NULL,
    kind              VARCHAR(32)   NOT NULL,
    reference         VARCHAR(255)  NOT NULL,
    line              BIGINT        NOT NULL,
    has_ours          INT           NOT NULL DEFAULT 0,
    ours_kind         VARCHAR(16)   NOT NULL DEFAULT '',
    ours_amount       BIGINT        NOT NULL DEFAULT 0,
    ours_currency     VARCHAR(16)   NOT NULL DEFAULT '',
    ours_status       VARCHAR(16)   NOT NULL DEFAULT '',
    has_bank          INT           NOT NULL DEFAULT 0,
    bank_kind         VARCHAR(16)   NOT NULL DEFAULT '',
    bank_amount       BIGINT        NOT NULL DEFAULT 0,
    bank_currency     VARCHAR(16)   NOT NULL DEFAULT '',
    bank_status       VARCHAR(16)   NOT NULL DEFAULT '',
    raw               VARCHAR(1000) NOT NULL DEFAULT '',
    created_at        DATETIME(6)   NOT NULL
);
CREATE UNIQUE INDEX reconciliation_differences_key ON reconciliation_differences (reconciliation_id, kind, reference, line);
CREATE INDEX reconciliation_differences_list ON reconciliation_differences (reconciliation_id, id);

-- An operator's resolution of a difference's follow-up; at most one per difference.
CREATE TABLE reconciliation_resolutions (
    difference_id     VARCHAR(64)   NOT NULL PRIMARY KEY,
    reconciliation_id VARCHAR(64)   NOT NULL,
    note              VARCHAR(1000) NOT NULL,
    operator          VARCHAR(64)   NOT NULL,
    created_at        DATETIME(6)   NOT NULL
);

-- +goose Down
-- bank_transfers.day and its index stay: dropping an index has no spelling that
-- SQLite and MySQL share, and a derived column harms nothing.
DROP TABLE reconciliation_resolutions;
DROP TABLE reconciliation_differences;
DROP TABLE reconciliation_results;
DROP TABLE reconciliations;
