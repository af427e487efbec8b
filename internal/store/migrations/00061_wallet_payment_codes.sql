-- In-store payments (issue 17): QR payments and a wallet's payment codes, single use and short
-- lived, kept by the HMAC of the code (never the code itself). payment_id is the
-- payment that used the code (set once, in the payment's own transaction), and
-- voided_at when a newer code of the wallet replaced it. A merchant's
-- no_password_limit is the amount above which a wallet code payment waits for the
-- wallet owner's confirmation; a payment keeps its code masked and whether it
-- needed that confirmation.

-- +goose Up
CREATE TABLE payment_codes (
    code_hash   VARCHAR(64)  NOT NULL PRIMARY KEY,
    merchant_id VARCHAR(64)  NOT NULL,
    account_id  VARCHAR(64)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    payment_id  VARCHAR(64)  NOT NULL DEFAULT '',
    voided      INT          NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL
);
CREATE INDEX payment_codes_account ON payment_codes (account_id, voided, payment_id);
CREATE INDEX payment_codes_expires ON payment_codes (expires_at);
ALTER TABLE merchants ADD COLUMN no_password_limit BIGINT NOT NULL DEFAULT 20000;
ALTER TABLE payments ADD COLUMN source_code VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN confirmation_required INT NOT NULL DEFAULT 0;
-- A QR payment: the token of its hosted page (unique; NULL for every other
-- payment), the page's URL as the merchant shows it, and when it stops.
ALTER TABLE payments ADD COLUMN qr_token VARCHAR(64) NULL;
ALTER TABLE payments ADD COLUMN qr_url VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN qr_expires_at DATETIME(6) NULL;
CREATE UNIQUE INDEX payments_qr_token ON payments (qr_token);

-- +goose Down
DROP INDEX payments_qr_token ON payments;
ALTER TABLE payments DROP COLUMN qr_expires_at;
ALTER TABLE payments DROP COLUMN qr_url;
ALTER TABLE payments DROP COLUMN qr_token;
ALTER TABLE payments DROP COLUMN confirmation_required;
ALTER TABLE payments DROP COLUMN source_code;
ALTER TABLE merchants DROP COLUMN no_password_limit;
DROP TABLE payment_codes;
