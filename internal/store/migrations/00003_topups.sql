-- Top-ups: a card charged at a bank channel to credit a customer wallet.

-- +goose Up
CREATE TABLE topups (
    id           VARCHAR(64)  NOT NULL PRIMARY KEY,
    merchant_id  VARCHAR(64)  NOT NULL,
    account_id   VARCHAR(64)  NOT NULL,
    amount       BIGINT       NOT NULL,
    currency     VARCHAR(3)   NOT NULL,
    source_token VARCHAR(64)  NOT NULL,
    channel      VARCHAR(32)  NOT NULL,
    status       VARCHAR(32)  NOT NULL,
    failure_code VARCHAR(64)  NOT NULL DEFAULT '',
    notify_url   VARCHAR(2048) NOT NULL DEFAULT '',
    workflow_id  VARCHAR(255) NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL
);
CREATE INDEX topups_merchant_id ON topups (merchant_id, id);

-- +goose Down
DROP TABLE topups;
