-- payflow's first schema. The same file runs on SQLite and MariaDB/MySQL: portable
-- types only (VARCHAR, BIGINT, INT, DATETIME(6), TEXT) and named indexes.
-- Journals, entries and bank transfer records are append-only: no statement in the
-- code updates or deletes them.

-- +goose Up
CREATE TABLE merchants (
    id               VARCHAR(64)  NOT NULL PRIMARY KEY,
    name             VARCHAR(255) NOT NULL,
    secret_enc       VARCHAR(512) NOT NULL,
    fee_bps          BIGINT       NOT NULL DEFAULT 0,
    review_threshold BIGINT       NOT NULL DEFAULT 0,
    default_currency VARCHAR(3)   NOT NULL,
    status           VARCHAR(16)  NOT NULL,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NOT NULL
);

CREATE TABLE payments (
    id                VARCHAR(64)   NOT NULL PRIMARY KEY,
    merchant_id       VARCHAR(64)   NOT NULL,
    amount            BIGINT        NOT NULL,
    currency          VARCHAR(3)    NOT NULL,
    source_type       VARCHAR(16)   NOT NULL,
    source_token      VARCHAR(64)   NOT NULL DEFAULT '',
    source_account_id VARCHAR(64)   NOT NULL DEFAULT '',
    channel           VARCHAR(32)   NOT NULL,
    status            VARCHAR(32)   NOT NULL,
    failure_code      VARCHAR(64)   NOT NULL DEFAULT '',
    fee               BIGINT        NOT NULL DEFAULT 0,
    amount_refunded   BIGINT        NOT NULL DEFAULT 0,
    description       VARCHAR(1000) NOT NULL DEFAULT '',
    notify_url        VARCHAR(2048) NOT NULL DEFAULT '',
    metadata          TEXT,
    workflow_id       VARCHAR(255)  NOT NULL,
    created_at        DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL
);
CREATE INDEX payments_merchant_id ON payments (merchant_id, id);
CREATE INDEX payments_merchant_status_id ON payments (merchant_id, status, id);

-- One row per (merchant, Idempotency-Key): the fingerprint of the first request
-- (method, path, body) and the object it created. Inserted in the same transaction
-- as the object, so that concurrent requests with one key create one object.
CREATE TABLE idempotency_keys (
    merchant_id VARCHAR(64)  NOT NULL,
    idem_key    VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(64)  NOT NULL,
    object_id   VARCHAR(64)  NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (merchant_id, idem_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Nonces seen within the signature window, shared by every API replica.
CREATE TABLE nonces (
    merchant_id VARCHAR(64) NOT NULL,
    nonce       VARCHAR(64) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (merchant_id, nonce)
);
CREATE INDEX nonces_created_at ON nonces (created_at);

-- The chart of accounts. system_key makes singleton accounts (a merchant's settlement
-- account per currency, the bank clearing account per channel and currency, the fees
-- account per currency) unique; a wallet's system_key is its id. balance, held and
-- version are a cache of the entries, changed only with optimistic concurrency in the
-- transaction that appends the entries; track_balance is 0 for platform accounts
-- (clearing, fees), whose balance is only ever summed from the entries.
CREATE TABLE accounts (
    id            VARCHAR(64)  NOT NULL PRIMARY KEY,
    system_key    VARCHAR(255) NOT NULL,
    merchant_id   VARCHAR(64)  NOT NULL DEFAULT '',
    kind          VARCHAR(32)  NOT NULL,
    currency      VARCHAR(3)   NOT NULL,
    channel       VARCHAR(32)  NOT NULL DEFAULT '',
    reference     VARCHAR(255) NOT NULL DEFAULT '',
    track_balance INT          NOT NULL,
    balance       BIGINT       NOT NULL DEFAULT 0,
    held          BIGINT       NOT NULL DEFAULT 0,
    version       BIGINT       NOT NULL DEFAULT 0,
    created_at    DATETIME(6)  NOT NULL
);
CREATE UNIQUE INDEX accounts_system_key ON accounts (system_key);
CREATE INDEX accounts_merchant_id ON accounts (merchant_id, id);

CREATE TABLE journals (
    id              VARCHAR(64)  NOT NULL PRIMARY KEY,
    idempotency_key VARCHAR(255) NOT NULL,
    flow            VARCHAR(32)  NOT NULL,
    flow_id         VARCHAR(64)  NOT NULL,
    merchant_id     VARCHAR(64)  NOT NULL DEFAULT '',
    description     VARCHAR(255) NOT NULL DEFAULT '',
    created_at      DATETIME(6)  NOT NULL
);
CREATE UNIQUE INDEX journals_idempotency_key ON journals (idempotency_key);

-- Amounts are signed, credit positive: a wallet or settlement account grows with
-- positive entries; the bank clearing (asset) account carries the negative of what
-- the bank holds for us. Every journal's entries sum to zero per currency.
-- account_version is the account's version after this entry (0 for untracked
-- accounts); its unique index makes two entries claiming one version impossible.
CREATE TABLE entries (
    id              VARCHAR(64) NOT NULL PRIMARY KEY,
    journal_id      VARCHAR(64) NOT NULL,
    account_id      VARCHAR(64) NOT NULL,
    amount          BIGINT      NOT NULL,
    currency        VARCHAR(3)  NOT NULL,
    balance_after   BIGINT      NOT NULL DEFAULT 0,
    account_version BIGINT      NOT NULL DEFAULT 0,
    created_at      DATETIME(6) NOT NULL
);
CREATE INDEX entries_journal_id ON entries (journal_id);
CREATE INDEX entries_account_id ON entries (account_id, id);

-- Bank transfer records, owned by the bank layer: one row per reference once the
-- bank has decided (reconciliation compares them with the bank's statement).
CREATE TABLE bank_transfers (
    reference    VARCHAR(64) NOT NULL PRIMARY KEY,
    channel      VARCHAR(32) NOT NULL,
    kind         VARCHAR(16) NOT NULL,
    merchant_id  VARCHAR(64) NOT NULL,
    amount       BIGINT      NOT NULL,
    currency     VARCHAR(3)  NOT NULL,
    status       VARCHAR(16) NOT NULL,
    failure_code VARCHAR(64) NOT NULL DEFAULT '',
    bank_id      VARCHAR(128) NOT NULL DEFAULT '',
    created_at   DATETIME(6) NOT NULL
);
CREATE INDEX bank_transfers_channel_created ON bank_transfers (channel, created_at);

-- +goose Down
DROP TABLE bank_transfers;
DROP TABLE entries;
DROP TABLE journals;
DROP TABLE accounts;
DROP TABLE nonces;
DROP TABLE idempotency_keys;
DROP TABLE payments;
DROP TABLE merchants;
