-- The bank callback events payflow has delivered to a flow, by the bank's own event id,
-- so that a redelivered callback (banks resend until they get a 2xx, and may send one
-- event twice) signals its flow once. A row is written before the signal and removed
-- again when the signal could not be delivered, so that the bank's retry is not
-- mistaken for a duplicate. The key is per channel: two banks may use the same event
-- id. Retention: rows are only needed while a bank may still redeliver the event
-- (Stripe retries for up to three days); nothing purges them yet (received_at is
-- indexed for the purge that will).

-- +goose Up
CREATE TABLE bank_callback_events (
    channel     VARCHAR(32)  NOT NULL,
    event_id    VARCHAR(255) NOT NULL,
    reference   VARCHAR(64)  NOT NULL,
    received_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (channel, event_id)
);
CREATE INDEX bank_callback_events_received_at ON bank_callback_events (received_at);

-- +goose Down
DROP TABLE bank_callback_events;
