-- Events and webhook attempts, both append-only facts: an event is stored once per
-- (object, type) when the object reaches a terminal state, before any delivery; each
-- POST of it to the merchant's notify_url appends an attempt. The delivery state the
-- API shows (pending, delivered, failed) is derived from the attempts, never written.

-- +goose Up
CREATE TABLE events (
    id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    merchant_id VARCHAR(64)   NOT NULL,
    type        VARCHAR(64)   NOT NULL,
    object_id   VARCHAR(64)   NOT NULL,
    notify_url  VARCHAR(2048) NOT NULL,
    data        TEXT          NOT NULL,
    created_at  DATETIME(6)   NOT NULL
);
-- A flow that replays or retries finds its event instead of making a second one.
CREATE UNIQUE INDEX events_object_type ON events (object_id, type);
CREATE INDEX events_merchant_id ON events (merchant_id, id);

-- attempt numbers an event's attempts from 1 across all its deliveries; delivery_id
-- is the delivery workflow's run id (a redelivery is a new delivery). status_code is 0
-- when no answer came; gave_up is 1 for a failure that is not retried (a refused
-- address, 410 Gone).
CREATE TABLE webhook_attempts (
    event_id     VARCHAR(64)   NOT NULL,
    attempt      INT           NOT NULL,
    delivery_id  VARCHAR(64)   NOT NULL,
    attempted_at DATETIME(6)   NOT NULL,
    status_code  INT           NOT NULL DEFAULT 0,
    error_text   VARCHAR(1000) NOT NULL DEFAULT '',
    duration_ms  BIGINT        NOT NULL DEFAULT 0,
    gave_up      INT           NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, attempt)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE events;
