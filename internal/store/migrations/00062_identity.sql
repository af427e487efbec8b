-- Identity and credit (issue 18): bank-card verifications, cards bound to wallets
-- with a one-time code, and credit reports. Every personal datum (card number, name,
-- ID number, phone, a report's content) is sealed with the secrets key (the *_sealed
-- columns) and kept beside its mask; lookups go by an HMAC of the datum, never the
-- datum. A merchant's per-call prices are its own columns.

-- +goose Up
ALTER TABLE merchants ADD COLUMN verification_fee BIGINT NOT NULL DEFAULT 50;
ALTER TABLE merchants ADD COLUMN verification_cached_fee BIGINT NOT NULL DEFAULT 10;
ALTER TABLE merchants ADD COLUMN credit_report_fee BIGINT NOT NULL DEFAULT 300;
ALTER TABLE merchants ADD COLUMN credit_report_reuse_fee BIGINT NOT NULL DEFAULT 0;

CREATE TABLE verifications (
    id                VARCHAR(64)  NOT NULL PRIMARY KEY,
    merchant_id       VARCHAR(64)  NOT NULL,
    elements          INT          NOT NULL,
    card_masked       VARCHAR(32)  NOT NULL,
    name_masked       VARCHAR(128) NOT NULL,
    id_number_masked  VARCHAR(32)  NOT NULL DEFAULT '',
    phone_masked      VARCHAR(32)  NOT NULL DEFAULT '',
    status            VARCHAR(16)  NOT NULL,
    result            VARCHAR(16)  NOT NULL DEFAULT '',
    mismatched_fields VARCHAR(128) NOT NULL DEFAULT '',
    failure_code      VARCHAR(64)  NOT NULL DEFAULT '',
    bank              VARCHAR(128) NOT NULL DEFAULT '',
    card_type         VARCHAR(16)  NOT NULL DEFAULT '',
    last4             VARCHAR(4)   NOT NULL DEFAULT '',
    cached            INT          NOT NULL DEFAULT 0,
    fee               BIGINT       NOT NULL DEFAULT 0,
    currency          VARCHAR(3)   NOT NULL,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL
);
CREATE INDEX verifications_merchant ON verifications (merchant_id, id);

CREATE TABLE bound_cards (
    id               VARCHAR(64)  NOT NULL PRIMARY KEY,
    merchant_id      VARCHAR(64)  NOT NULL,
    account_id       VARCHAR(64)  NOT NULL,
    status           VARCHAR(16)  NOT NULL,
    failure_code     VARCHAR(64)  NOT NULL DEFAULT '',
    card_masked      VARCHAR(32)  NOT NULL,
    name_masked      VARCHAR(128) NOT NULL,
    id_number_masked VARCHAR(32)  NOT NULL,
    phone_masked     VARCHAR(32)  NOT NULL,
    card_sealed      TEXT         NOT NULL,
    bank             VARCHAR(128) NOT NULL DEFAULT '',
    card_type        VARCHAR(16)  NOT NULL DEFAULT '',
    last4            VARCHAR(4)   NOT NULL DEFAULT '',
    agreement_sealed TEXT         NULL,
    attempts_left    INT          NOT NULL DEFAULT 3,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NOT NULL
);
CREATE INDEX bound_cards_account ON bound_cards (account_id, id);

CREATE TABLE credit_reports (
    id              VARCHAR(64)  NOT NULL PRIMARY KEY,
    merchant_id     VARCHAR(64)  NOT NULL,
    subject_hash    VARCHAR(64)  NOT NULL,
    name_masked     VARCHAR(128) NOT NULL,
    id_number_masked VARCHAR(32) NOT NULL,
    purpose         VARCHAR(32)  NOT NULL,
    consent_sealed  TEXT         NOT NULL,
    consent_granted_at DATETIME(6) NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    failure_code    VARCHAR(64)  NOT NULL DEFAULT '',
    report_sealed   TEXT         NULL,
    reused_from     VARCHAR(64)  NOT NULL DEFAULT '',
    fee             BIGINT       NOT NULL DEFAULT 0,
    currency        VARCHAR(3)   NOT NULL,
    notify_url      VARCHAR(2048) NOT NULL DEFAULT '',
    ready_at        DATETIME(6)  NULL,
    expires_at      DATETIME(6)  NULL,
    purged_at       DATETIME(6)  NULL,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL
);
CREATE INDEX credit_reports_subject ON credit_reports (merchant_id, subject_hash, status, ready_at);
CREATE INDEX credit_reports_merchant ON credit_reports (merchant_id, id);
CREATE INDEX credit_reports_ready ON credit_reports (ready_at);

CREATE TABLE credit_report_reads (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    report_id   VARCHAR(64)  NOT NULL,
    merchant_id VARCHAR(64)  NOT NULL,
    reader      VARCHAR(128) NOT NULL,
    request_id  VARCHAR(64)  NOT NULL DEFAULT '',
    created_at  DATETIME(6)  NOT NULL
);
CREATE INDEX credit_report_reads_report ON credit_report_reads (report_id, id);

-- +goose Down
DROP TABLE credit_report_reads;
DROP TABLE credit_reports;
DROP TABLE bound_cards;
DROP TABLE verifications;
ALTER TABLE merchants DROP COLUMN credit_report_reuse_fee;
ALTER TABLE merchants DROP COLUMN credit_report_fee;
ALTER TABLE merchants DROP COLUMN verification_cached_fee;
ALTER TABLE merchants DROP COLUMN verification_fee;
