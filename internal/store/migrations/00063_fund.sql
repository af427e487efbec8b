-- The fund marketplace (issue 19): a wallet's assessed risk level, and fund orders
-- (subscriptions and redemptions) with the fund company's confirmation. A wallet's
-- shares are ledger accounts of their own asset code (SHR.<product>), so the ledger's
-- currency columns widen from an ISO 4217 code to an asset code; SQLite never
-- enforced the width, and the lines marked mysql-only are left out there.

-- +goose Up
ALTER TABLE accounts MODIFY currency VARCHAR(32) NOT NULL; -- mysql-only
ALTER TABLE entries MODIFY currency VARCHAR(32) NOT NULL; -- mysql-only
ALTER TABLE holds MODIFY currency VARCHAR(32) NOT NULL; -- mysql-only

CREATE TABLE risk_profiles (
    account_id  VARCHAR(64) NOT NULL PRIMARY KEY,
    merchant_id VARCHAR(64) NOT NULL,
    level       INT         NOT NULL,
    assessed_at DATETIME(6) NOT NULL
);

CREATE TABLE fund_orders (
    id                    VARCHAR(64)  NOT NULL PRIMARY KEY,
    kind                  VARCHAR(16)  NOT NULL,
    merchant_id           VARCHAR(64)  NOT NULL,
    account_id            VARCHAR(64)  NOT NULL,
    product_id            VARCHAR(64)  NOT NULL,
    currency              VARCHAR(3)   NOT NULL,
    status                VARCHAR(16)  NOT NULL,
    amount                BIGINT       NOT NULL DEFAULT 0,
    shares                BIGINT       NOT NULL DEFAULT 0,
    nav                   BIGINT       NOT NULL DEFAULT 0,
    fee                   BIGINT       NOT NULL DEFAULT 0,
    trade_date            VARCHAR(10)  NOT NULL,
    expected_confirm_date VARCHAR(10)  NOT NULL,
    expected_settle_date  VARCHAR(10)  NOT NULL DEFAULT '',
    failure_code          VARCHAR(64)  NOT NULL DEFAULT '',
    notify_url            VARCHAR(2048) NOT NULL DEFAULT '',
    created_at            DATETIME(6)  NOT NULL,
    confirmed_at          DATETIME(6)  NULL,
    paid_at               DATETIME(6)  NULL,
    updated_at            DATETIME(6)  NOT NULL
);
CREATE INDEX fund_orders_merchant ON fund_orders (merchant_id, id);
CREATE INDEX fund_orders_account ON fund_orders (account_id, id);
CREATE INDEX fund_orders_trade_date ON fund_orders (trade_date, id);
-- The flow sweeper's pages (as for payments: one range scan).
CREATE INDEX fund_orders_status_created ON fund_orders (status, created_at, id);

-- +goose Down
DROP TABLE fund_orders;
DROP TABLE risk_profiles;
ALTER TABLE holds MODIFY currency VARCHAR(3) NOT NULL; -- mysql-only
ALTER TABLE entries MODIFY currency VARCHAR(3) NOT NULL; -- mysql-only
ALTER TABLE accounts MODIFY currency VARCHAR(3) NOT NULL; -- mysql-only
