package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TokenBucket is a per-merchant rate limit: Rate requests per second on average,
// bursts of up to Burst requests. The zero value is no limit.
type TokenBucket struct {
	Rate  int64
	Burst int64
}

func (b TokenBucket) enabled() bool { return b.Rate > 0 && b.Burst > 0 }

// micro is one request in the bucket's unit: tokens are counted in millionths, so
// that a refill of Rate per second is Rate units per microsecond, in integers.
const micro = 1_000_000

type rateLimitRow struct {
	MerchantID string `gorm:"primaryKey"`
	Tokens     int64
	UpdatedUs  int64
}

func (rateLimitRow) TableName() string { return "rate_limits" }

// refilledSQL is a bucket's level at @now: the stored tokens plus the refill since
// updated_us, capped at the burst. A clock behind updated_us (another replica's,
// slightly behind) refills nothing; an elapsed time past the full-refill window is
// clamped first, so that elapsed*rate never overflows. A new bucket (updated_us 0) is
// full.
const refilledSQL = `(CASE
	WHEN @now - updated_us >= @window THEN @cap
	WHEN @now <= updated_us THEN tokens
	WHEN tokens + (@now - updated_us) * @rate >= @cap THEN @cap
	ELSE tokens + (@now - updated_us) * @rate END)`

// takeSQL takes one request from a bucket that holds one, in one statement: the row
// lock (MySQL) or the write lock (SQLite) serializes concurrent takes from every API
// replica, so that a burst is never granted twice. tokens is assigned before
// updated_us, which it reads: MySQL evaluates single-table assignments left to right.
const takeSQL = `UPDATE rate_limits SET
	tokens = ` + refilledSQL + ` - @cost,
	updated_us = CASE WHEN @now > updated_us THEN @now ELSE updated_us END
	WHERE merchant_id = @merchant AND ` + refilledSQL + ` >= @cost`

// errNoBucket rolls an admission back when the merchant has no bucket yet.
var errNoBucket = errors.New("no token bucket")

// Admit admits a merchant request whose signature was verified: it records the
// request's nonce and takes one request from the merchant's bucket, in one
// transaction, so that replay protection and the rate limit cost one commit. A nonce
// seen before returns ErrNonceReused and takes nothing (a replay does not spend the
// merchant's budget). An empty bucket returns false and how long until it holds a
// request again, and keeps only the nonce: the same signed request is never admitted
// later (whoever saw it cannot replay it), and the client signs again after the wait.
// Both tables are shared by every API replica.
func (s *Store) Admit(ctx context.Context, merchantID, nonce string, b TokenBucket, now time.Time) (bool, time.Duration, error) {
	if !b.enabled() {
		// No budget: the nonce alone, in one statement.
		if err := s.UseNonce(ctx, merchantID, nonce, now); err != nil {
			return false, 0, err
		}
		return true, 0, nil
	}
	var wait time.Duration
	var err error
	limited := false
	for attempt := 0; attempt < 4; attempt++ {
		wait, limited = 0, false
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&nonceRow{MerchantID: merchantID, Nonce: nonce, CreatedAt: now.UTC()}).Error; err != nil {
				if IsDuplicate(err) {
					return ErrNonceReused
				}
				return fmt.Errorf("record nonce: %w", err)
			}
			ok, w, err := takeToken(tx, merchantID, b, now)
			if err != nil {
				return err
			}
			if !ok {
				// Refused for the budget, but the nonce is spent all the same (the
				// transaction commits it, and the refused UPDATE changed nothing):
				// whoever saw the request cannot replay it once the budget refills;
				// the client signs again.
				wait, limited = w, true
			}
			return nil
		})
		if errors.Is(err, errNoBucket) {
			// Created outside the admission's transaction, on its own: inside it,
			// the failed UPDATE's gap lock and a concurrent request's would deadlock
			// the two inserts (MySQL, REPEATABLE READ).
			if err = s.createBucket(ctx, merchantID); err != nil {
				break
			}
			continue
		}
		if !RolledBack(err) {
			break
		}
	}
	switch {
	case err == nil && limited:
		return false, wait, nil
	case err == nil:
		return true, 0, nil
	case errors.Is(err, ErrNonceReused):
		return false, 0, ErrNonceReused
	}
	return false, 0, fmt.Errorf("admit request of %s: %w", merchantID, err)
}

// takeToken takes one request from the merchant's bucket in tx. Buckets are created
// with their merchants (and by the migration for older ones); a missing one is
// errNoBucket.
func takeToken(tx *gorm.DB, merchantID string, b TokenBucket, now time.Time) (bool, time.Duration, error) {
	return takeOne(tx, merchantID, bucket{window: b.window(), limit: b.Burst * micro, rate: b.Rate, cost: micro}, now)
}

// bucket is a rate_limits row's arithmetic, in the row's unit: full at limit,
// refilled by rate per microsecond (full after window), cost per take.
type bucket struct{ window, limit, rate, cost int64 }

// takeOne takes cost from key's bucket in tx (takeSQL): false, with how long until it
// holds cost again, when it does not; errNoBucket when key has no row.
func takeOne(tx *gorm.DB, key string, b bucket, now time.Time) (bool, time.Duration, error) {
	nowUs := now.UnixMicro()
	res := tx.Exec(takeSQL, map[string]any{
		"now": nowUs, "window": b.window, "cap": b.limit, "rate": b.rate, "cost": b.cost, "merchant": key,
	})
	if res.Error != nil {
		return false, 0, fmt.Errorf("take token: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return true, 0, nil
	}
	var row rateLimitRow
	err := tx.Where("merchant_id = ?", key).Take(&row).Error
	if errors.Is(translate(err), ErrNotFound) {
		return false, 0, errNoBucket
	}
	if err != nil {
		return false, 0, fmt.Errorf("read token bucket: %w", err)
	}
	need := b.cost - b.refilled(row, nowUs)
	if need <= 0 {
		need = 1
	}
	return false, time.Duration((need+b.rate-1)/b.rate) * time.Microsecond, nil
}

// window is how long an empty bucket takes to fill, in microseconds.
func (b TokenBucket) window() int64 { return (b.Burst*micro + b.Rate - 1) / b.Rate }

// refilled is refilledSQL in Go.
func (b bucket) refilled(r rateLimitRow, nowUs int64) int64 {
	elapsed := nowUs - r.UpdatedUs
	switch {
	case elapsed >= b.window:
		return b.limit
	case elapsed <= 0:
		return r.Tokens
	case r.Tokens+elapsed*b.rate >= b.limit:
		return b.limit
	}
	return r.Tokens + elapsed*b.rate
}

// createBucket creates the merchant's bucket, full, unless it exists.
func (s *Store) createBucket(ctx context.Context, merchantID string) error {
	row := newBucketRow(merchantID)
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("create token bucket: %w", err)
	}
	return nil
}

// newBucketRow is a merchant's bucket as it is created with the merchant: full.
func newBucketRow(merchantID string) rateLimitRow {
	return rateLimitRow{MerchantID: merchantID, Tokens: 0, UpdatedUs: 0}
}
