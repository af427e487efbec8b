-- Merchants' webhook signing secrets (whsec_...), apart from their API secrets, so
-- that a webhook receiver no longer holds the merchant's API secret. Sealed like the
-- API secret (bound to the merchant id and the secret's role), with a previous one
-- valid until old_webhook_secret_expires_at during a rotation. Merchants that existed
-- before have none (''): their webhooks stay signed with the API secret until an
-- operator rotates their webhook secret (POST /v1/ops/merchants/{id}/rotate-webhook-secret).

-- +goose Up
ALTER TABLE merchants ADD COLUMN webhook_secret_enc VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN old_webhook_secret_enc VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN old_webhook_secret_expires_at DATETIME(6) NULL;

-- +goose Down
ALTER TABLE merchants DROP COLUMN old_webhook_secret_expires_at;
ALTER TABLE merchants DROP COLUMN old_webhook_secret_enc;
ALTER TABLE merchants DROP COLUMN webhook_secret_enc;
