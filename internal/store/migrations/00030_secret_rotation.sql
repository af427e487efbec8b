-- Merchant secret rotation: the previous secret, sealed like the current one (bound
-- to the merchant id and its role), stays valid until old_secret_expires_at, so that
-- a merchant can deploy its new secret without a window of refused requests. And a
-- merchant's webhook settings: the notify_url of objects created without one.

-- +goose Up
ALTER TABLE merchants ADD COLUMN old_secret_enc VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN old_secret_expires_at DATETIME(6) NULL;
ALTER TABLE merchants ADD COLUMN notify_url VARCHAR(2048) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE merchants DROP COLUMN notify_url;
ALTER TABLE merchants DROP COLUMN old_secret_expires_at;
ALTER TABLE merchants DROP COLUMN old_secret_enc;
