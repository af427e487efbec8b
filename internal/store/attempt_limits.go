package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AttemptBudget bounds the attempts of one key (an ops client's address): Attempts
// in a row, then one more each Window/Attempts, a bucket of Attempts refilled over
// Window. The zero value is no limit. Its rows are rate_limits rows, beside the
// merchants' buckets (their keys are prefixed, never a merchant id), so that every
// API replica shares them; they count in their own unit: one attempt is Window in
// microseconds, and the bucket refills by Attempts per microsecond, integers with
// neither a division nor an overflow for Attempts up to MaxAttempts and Window up to
// MaxAttemptWindow.
type AttemptBudget struct {
	Attempts int64
	Window   time.Duration
}

// The largest budget AttemptBudget computes in integers.
const (
	MaxAttempts      = 1000
	MaxAttemptWindow = 24 * time.Hour
)

func (b AttemptBudget) enabled() bool { return b.Attempts > 0 && b.Window > 0 }

func (b AttemptBudget) params(key string, nowUs int64) map[string]any {
	w := b.Window.Microseconds()
	return map[string]any{"now": nowUs, "window": w, "cap": b.Attempts * w, "rate": b.Attempts, "cost": w, "merchant": key}
}

// TakeAttempt takes one attempt from key's budget, in one statement shared by every
// replica: false, with how long until the budget holds an attempt again, when it is
// spent.
func (s *Store) TakeAttempt(ctx context.Context, key string, b AttemptBudget, now time.Time) (bool, time.Duration, error) {
	if !b.enabled() {
		return true, 0, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		var ok bool
		var wait time.Duration
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var err error
			ok, wait, err = takeAttempt(tx, key, b, now)
			return err
		})
		if errors.Is(err, errNoBucket) {
			if err = s.createBucket(ctx, key); err != nil {
				return false, 0, err
			}
			continue
		}
		if err != nil {
			return false, 0, fmt.Errorf("take attempt of %s: %w", key, err)
		}
		return ok, wait, nil
	}
	return false, 0, fmt.Errorf("take attempt of %s: no bucket", key)
}

func takeAttempt(tx *gorm.DB, key string, b AttemptBudget, now time.Time) (bool, time.Duration, error) {
	nowUs := now.UnixMicro()
	res := tx.Exec(takeSQL, b.params(key, nowUs))
	if res.Error != nil {
		return false, 0, res.Error
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
		return false, 0, err
	}
	w := b.Window.Microseconds()
	need := w - b.refilled(row, nowUs)
	if need <= 0 {
		need = 1
	}
	return false, time.Duration((need+b.Attempts-1)/b.Attempts) * time.Microsecond, nil
}

// refilled is refilledSQL in Go, in the budget's unit.
func (b AttemptBudget) refilled(r rateLimitRow, nowUs int64) int64 {
	w := b.Window.Microseconds()
	limit, elapsed := b.Attempts*w, nowUs-r.UpdatedUs
	switch {
	case elapsed >= w:
		return limit
	case elapsed <= 0:
		return r.Tokens
	case r.Tokens+elapsed*b.Attempts >= limit:
		return limit
	}
	return r.Tokens + elapsed*b.Attempts
}

// ReturnAttempt gives back an attempt taken by TakeAttempt that was not a failure
// (the ops token was good).
func (s *Store) ReturnAttempt(ctx context.Context, key string, b AttemptBudget) error {
	if !b.enabled() {
		return nil
	}
	w := b.Window.Microseconds()
	err := s.db.WithContext(ctx).Exec(`UPDATE rate_limits SET
	tokens = CASE WHEN tokens + @cost >= @cap THEN @cap ELSE tokens + @cost END
	WHERE merchant_id = @merchant`, map[string]any{"cost": w, "cap": b.Attempts * w, "merchant": key}).Error
	if err != nil {
		return fmt.Errorf("return attempt of %s: %w", key, err)
	}
	return nil
}
