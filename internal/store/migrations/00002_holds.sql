-- Holds reserve part of an account's available balance (withdrawals). A hold is a fact
-- of its own and so is its end: closing a hold appends a closure (settled, with the
-- journal that moved the money, or released), never an edit of the hold.

-- +goose Up
CREATE TABLE holds (
    id              VARCHAR(64)  NOT NULL PRIMARY KEY,
    idempotency_key VARCHAR(255) NOT NULL,
    account_id      VARCHAR(64)  NOT NULL,
    amount          BIGINT       NOT NULL,
    currency        VARCHAR(3)   NOT NULL,
    flow            VARCHAR(32)  NOT NULL,
    flow_id         VARCHAR(64)  NOT NULL,
    created_at      DATETIME(6)  NOT NULL
);
CREATE UNIQUE INDEX holds_idempotency_key ON holds (idempotency_key);
CREATE INDEX holds_account_id ON holds (account_id, id);

CREATE TABLE hold_closures (
    hold_id    VARCHAR(64) NOT NULL PRIMARY KEY,
    kind       VARCHAR(16) NOT NULL,
    journal_id VARCHAR(64) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL
);

-- +goose Down
DROP TABLE hold_closures;
DROP TABLE holds;
