-- The flow sweeper's marks, and the indexes its scan reads.
--
-- The API commits a payment, refund, top-up or withdrawal, then starts its flow; a
-- request that dies in between leaves the object processing with no flow. Every
-- minute the sweeper starts (idempotently) the flow of each object still processing
-- that was created between its mark and one grace period ago, then moves the mark
-- past it. flow_sweeps holds one mark per kind of object: the (created_at, id) of the
-- last object swept, in that order. Objects before the mark were swept once and are
-- never read again, so a sweep reads only what was created since the last one; no
-- row yet means nothing was swept, and the first sweep takes every object still
-- processing (those stranded before the sweeper existed too).
--
-- The (status, created_at, id) indexes make a sweep's page one range scan over the
-- objects still processing in the window, in the mark's order: finished objects,
-- nearly all of them, are never read.

-- +goose Up
CREATE TABLE flow_sweeps (
    flow            VARCHAR(16) NOT NULL PRIMARY KEY,
    last_created_at DATETIME(6) NOT NULL,
    last_id         VARCHAR(64) NOT NULL,
    updated_at      DATETIME(6) NOT NULL
);
CREATE INDEX payments_status_created ON payments (status, created_at, id);
CREATE INDEX refunds_status_created ON refunds (status, created_at, id);
CREATE INDEX topups_status_created ON topups (status, created_at, id);
CREATE INDEX withdrawals_status_created ON withdrawals (status, created_at, id);

-- +goose Down
-- The indexes stay: dropping an index has no spelling that SQLite and MySQL share,
-- and they harm nothing.
DROP TABLE flow_sweeps;
