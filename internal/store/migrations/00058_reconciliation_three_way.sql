-- Reconciliation compares three sides (issue 15): the bank's statement line, our
-- intent (the object) and the ledger (the journal that moved the channel's bank
-- clearing account). A difference keeps the ledger's side beside ours and the
-- bank's, and an in_transit item the day it was first carried; a run's end counts
-- the new kinds; a resolution says what the operator did. The ledger side of a
-- reference is found through journals.flow_id, hence its index.

-- +goose Up
ALTER TABLE reconciliation_results ADD COLUMN currency_mismatch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_results ADD COLUMN not_booked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_results ADD COLUMN balance_gap BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_results ADD COLUMN in_transit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_differences ADD COLUMN has_ledger INT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_differences ADD COLUMN ledger_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconciliation_differences ADD COLUMN ledger_currency VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE reconciliation_differences ADD COLUMN ledger_status VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE reconciliation_differences ADD COLUMN since VARCHAR(10) NOT NULL DEFAULT '';
ALTER TABLE reconciliation_resolutions ADD COLUMN action VARCHAR(32) NOT NULL DEFAULT 'explained';
CREATE INDEX journals_flow_id ON journals (flow_id);

-- +goose Down
-- The index stays: dropping an index has no spelling that SQLite and MySQL share.
ALTER TABLE reconciliation_resolutions DROP COLUMN action;
ALTER TABLE reconciliation_differences DROP COLUMN since;
ALTER TABLE reconciliation_differences DROP COLUMN ledger_status;
ALTER TABLE reconciliation_differences DROP COLUMN ledger_currency;
ALTER TABLE reconciliation_differences DROP COLUMN ledger_amount;
ALTER TABLE reconciliation_differences DROP COLUMN has_ledger;
ALTER TABLE reconciliation_results DROP COLUMN in_transit;
ALTER TABLE reconciliation_results DROP COLUMN balance_gap;
ALTER TABLE reconciliation_results DROP COLUMN not_booked;
ALTER TABLE reconciliation_results DROP COLUMN currency_mismatch;
