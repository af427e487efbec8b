package store

import (
	"context"
	"errors"
	"fmt"
	"time"
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

// bucket is the budget in its unit: one attempt is Window in microseconds.
func (b AttemptBudget) bucket() bucket {
	w := b.Window.Microseconds()
	return bucket{window: w, limit: b.Attempts * w, rate: b.Attempts, cost: w}
}

// TakeAttempt takes one attempt from key's budget, in one statement shared by every
// replica: false, with how long until the budget holds an attempt again, when it is
// spent.
func (s *Store) TakeAttempt(ctx context.Context, key string, b AttemptBudget, now time.Time) (bool, time.Duration, error) {
	if !b.enabled() {
		return true, 0, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		ok, wait, err := takeOne(s.db.WithContext(ctx), key, b.bucket(), now)
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

// AttemptsSpent reports whether key's budget holds no attempt now (and how long
// until it holds one again), reading it without taking from it: how a good token
// learns that its address is locked out, while good tokens used at once never
// spend the budget between them.
func (s *Store) AttemptsSpent(ctx context.Context, key string, b AttemptBudget, now time.Time) (bool, time.Duration, error) {
	if !b.enabled() {
		return false, 0, nil
	}
	var row rateLimitRow
	err := s.db.WithContext(ctx).Where("merchant_id = ?", key).Take(&row).Error
	switch {
	case errors.Is(translate(err), ErrNotFound):
		return false, 0, nil
	case err != nil:
		return false, 0, fmt.Errorf("read attempts of %s: %w", key, err)
	}
	k := b.bucket()
	have := k.refilled(row, now.UnixMicro())
	if have >= k.cost {
		return false, 0, nil
	}
	need := k.cost - have
	return true, time.Duration((need+k.rate-1)/k.rate) * time.Microsecond, nil
}
