-- Retention (issue 16, item 7). The worker's purge schedule deletes, in bounded
-- batches, what is past its retention (PAYFLOW_RETENTION_*): each batch selects the
-- oldest rows by the column indexed here, then deletes them by key. Events and
-- webhook attempts had no index on their time, so the purge, and the webhook backlog
-- count that read the whole events table at each scrape of /metrics, scanned them.
--
-- maintenance_state holds the few values the worker's background schedules keep
-- between runs, one row each: what the measure schedule counted for a gauge (the
-- webhook backlog, value and when), so that /metrics reads one row instead of
-- counting; and how far the purge of webhook attempts has scanned (value: the
-- attempted_at it reached, in microseconds since the epoch), so that the attempts it
-- keeps are not scanned again by every run.

-- +goose Up
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX webhook_attempts_attempted_at ON webhook_attempts (attempted_at);
CREATE INDEX audit_log_created_at ON audit_log (created_at);
CREATE INDEX rate_limits_updated_us ON rate_limits (updated_us);
CREATE TABLE maintenance_state (
    name       VARCHAR(64) NOT NULL PRIMARY KEY,
    value      BIGINT      NOT NULL,
    updated_at DATETIME(6) NOT NULL
);

-- +goose Down
-- The indexes stay: older code does not mind them, and SQLite and MySQL spell DROP
-- INDEX differently.
DROP TABLE maintenance_state;
