-- A difference's resolution names what the operator's action acted on (issue 15):
-- the refund that gave the money back, the journal that corrected the ledger, or
-- the flow that was retried; empty for an explained difference.

-- +goose Up
ALTER TABLE reconciliation_resolutions ADD COLUMN object_id VARCHAR(255) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reconciliation_resolutions DROP COLUMN object_id;
