-- Withdrawals (wallet to bank account, with approval) and refunds (of payments).
-- refund_reserved on a payment is the amount of refunds in flight: it is reserved in
-- the transaction that creates a refund, with a condition that the refunds in flight
-- plus those done never pass the captured amount, so that concurrent refund requests
-- cannot over-refund.

-- +goose Up
CREATE TABLE withdrawals (
    id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    merchant_id  VARCHAR(64)   NOT NULL,
    account_id   VARCHAR(64)   NOT NULL,
    amount       BIGINT        NOT NULL,
    currency     VARCHAR(3)    NOT NULL,
    bank_account VARCHAR(64)   NOT NULL,
    channel      VARCHAR(32)   NOT NULL,
    status       VARCHAR(32)   NOT NULL,
    failure_code VARCHAR(64)   NOT NULL DEFAULT '',
    reason       VARCHAR(500)  NOT NULL DEFAULT '',
    notify_url   VARCHAR(2048) NOT NULL DEFAULT '',
    workflow_id  VARCHAR(255)  NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    updated_at   DATETIME(6)   NOT NULL
);
CREATE INDEX withdrawals_merchant_id ON withdrawals (merchant_id, id);

CREATE TABLE refunds (
    id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    merchant_id  VARCHAR(64)   NOT NULL,
    payment_id   VARCHAR(64)   NOT NULL,
    amount       BIGINT        NOT NULL,
    currency     VARCHAR(3)    NOT NULL,
    channel      VARCHAR(32)   NOT NULL,
    status       VARCHAR(32)   NOT NULL,
    failure_code VARCHAR(64)   NOT NULL DEFAULT '',
    notify_url   VARCHAR(2048) NOT NULL DEFAULT '',
    workflow_id  VARCHAR(255)  NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    updated_at   DATETIME(6)   NOT NULL
);
CREATE INDEX refunds_merchant_id ON refunds (merchant_id, id);
CREATE INDEX refunds_payment_id ON refunds (payment_id, id);

ALTER TABLE payments ADD COLUMN refund_reserved BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE payments DROP COLUMN refund_reserved;
DROP TABLE refunds;
DROP TABLE withdrawals;
