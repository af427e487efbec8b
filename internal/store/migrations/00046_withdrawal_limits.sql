-- A merchant's money-out limits: the most one withdrawal may move and the most a
-- wallet's withdrawals may move in one UTC day, in minor units (NULL: no limit).
-- Withdrawals are summed per wallet and day, hence the index.

-- +goose Up
ALTER TABLE merchants ADD COLUMN withdrawal_limit_per_transaction BIGINT NULL;
ALTER TABLE merchants ADD COLUMN withdrawal_limit_daily BIGINT NULL;
CREATE INDEX withdrawals_account_created ON withdrawals (account_id, created_at);

-- +goose Down
-- The index stays: dropping an index has no spelling that SQLite and MySQL share.
ALTER TABLE merchants DROP COLUMN withdrawal_limit_daily;
ALTER TABLE merchants DROP COLUMN withdrawal_limit_per_transaction;
