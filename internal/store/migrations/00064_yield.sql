-- Balance yield (the wealth issue): wallets opt in to earn the money-market
-- product's daily income on their balance. yield_wallets is the opt-in; yield_days
-- has one row per wallet and day, written once by the day's run: the balance at the
-- day's end, the income credited, and the carried remainder after it (a numerator
-- over models.YieldDenominator, kept exactly), so that a zero-credit day records its
-- carry too and the next day starts from it. yield_runs is one run per product and
-- day (unique), with its totals once recorded.

-- +goose Up
CREATE TABLE yield_wallets (
    account_id  VARCHAR(64) NOT NULL PRIMARY KEY,
    merchant_id VARCHAR(64) NOT NULL,
    enabled     INT         NOT NULL,
    enabled_at  DATETIME(6) NOT NULL,
    disabled_at DATETIME(6) NULL,
    updated_at  DATETIME(6) NOT NULL
);

CREATE TABLE yield_days (
    account_id VARCHAR(64) NOT NULL,
    day        VARCHAR(10) NOT NULL,
    run_id     VARCHAR(64) NOT NULL,
    balance    BIGINT      NOT NULL,
    income     BIGINT      NOT NULL,
    carry      BIGINT      NOT NULL,
    journal_id VARCHAR(64) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE yield_runs (
    id             VARCHAR(64)  NOT NULL PRIMARY KEY,
    product_id     VARCHAR(64)  NOT NULL,
    day            VARCHAR(10)  NOT NULL,
    status         VARCHAR(16)  NOT NULL,
    income_per_10k BIGINT       NOT NULL DEFAULT 0,
    wallets        BIGINT       NOT NULL DEFAULT 0,
    total_credited BIGINT       NOT NULL DEFAULT 0,
    carried_total  BIGINT       NOT NULL DEFAULT 0,
    error          VARCHAR(64)  NOT NULL DEFAULT '',
    workflow_id    VARCHAR(255) NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NOT NULL,
    finished_at    DATETIME(6)  NULL
);
CREATE UNIQUE INDEX yield_runs_product_day ON yield_runs (product_id, day);

-- +goose Down
DROP TABLE yield_runs;
DROP TABLE yield_days;
DROP TABLE yield_wallets;
