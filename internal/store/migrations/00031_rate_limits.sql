-- Per-merchant token buckets of the API's rate limit, shared by every API replica.
-- tokens is in millionths of a request, updated_us the time of the last take in
-- microseconds since the epoch: integers, so that the refill is the same arithmetic
-- on SQLite and MySQL. One row per merchant, created with the merchant (updated_us 0
-- is a full bucket), changed in place by one conditional statement per request, in the
-- transaction that records the request's nonce. It is a cache of the budget, not a
-- fact: losing it only refills the buckets.

-- +goose Up
CREATE TABLE rate_limits (
    merchant_id VARCHAR(64) NOT NULL PRIMARY KEY,
    tokens      BIGINT      NOT NULL,
    updated_us  BIGINT      NOT NULL
);
INSERT INTO rate_limits (merchant_id, tokens, updated_us) SELECT id, 0, 0 FROM merchants;

-- +goose Down
DROP TABLE rate_limits;
