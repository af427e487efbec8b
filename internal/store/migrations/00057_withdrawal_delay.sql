-- Money topped up by card becomes withdrawable only after the merchant's withdrawal
-- delay (issue 16, item 8): the classic defence against a stolen card topped up
-- and cashed out at once. The delay is in seconds; every merchant, existing ones
-- included, gets the product default of 24 h (a stolen-card cash-out is as possible
-- at an existing merchant as at a new one; docs/upgrades.md says how to change it).
-- A withdrawal's hold sums the wallet's top-up credits younger than the delay, by
-- the wallet's entries in time order, hence the index.

-- +goose Up
ALTER TABLE merchants ADD COLUMN withdrawal_delay_seconds BIGINT NOT NULL DEFAULT 86400;
CREATE INDEX entries_account_created ON entries (account_id, created_at);

-- +goose Down
-- The index stays: dropping an index has no spelling that SQLite and MySQL share.
ALTER TABLE merchants DROP COLUMN withdrawal_delay_seconds;
