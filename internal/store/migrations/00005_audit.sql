-- The audit log of operators' acts: who, what, on which object, when, why, and the
-- result. Append-only.

-- +goose Up
CREATE TABLE audit_log (
    id         VARCHAR(64)   NOT NULL PRIMARY KEY,
    operator   VARCHAR(128)  NOT NULL,
    action     VARCHAR(64)   NOT NULL,
    target     VARCHAR(255)  NOT NULL,
    reason     VARCHAR(1000) NOT NULL DEFAULT '',
    result     VARCHAR(32)   NOT NULL,
    detail     VARCHAR(1000) NOT NULL DEFAULT '',
    created_at DATETIME(6)   NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, id);

-- +goose Down
DROP TABLE audit_log;
