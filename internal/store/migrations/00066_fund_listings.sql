-- The fund company's reconciliation (issue 19): the date of the confirmations file
-- that first listed each fund order. An order our flows decided on one date and the
-- fund company listed on another (its clock, a decision at midnight) is judged with
-- the file that lists it, and not reported missing from the others.

-- +goose Up
CREATE TABLE fund_listings (
    order_id   VARCHAR(64) NOT NULL PRIMARY KEY,
    day        VARCHAR(10) NOT NULL,
    created_at DATETIME(6) NOT NULL
);

-- +goose Down
DROP TABLE fund_listings;
