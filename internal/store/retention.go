package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PurgeKind names a kind of record the worker's purge schedule deletes once it is
// past its retention (PAYFLOW_RETENTION_*, docs/configuration.md#retention).
type PurgeKind string

// The kinds of records with a retention.
const (
	// PurgeKindEvents: webhook events whose delivery ended before the cutoff (every
	// attempt older than it), with their attempts. An event with no attempt at all
	// (its delivery never ran) or with one since the cutoff (a delivery still
	// retrying, a redelivery) is kept.
	PurgeKindEvents PurgeKind = "events"
	// PurgeKindWebhookAttempts: failed attempts older than the cutoff that decide
	// nothing: an event keeps its latest attempt, its 2xx and its given-up attempts,
	// so that its delivery status, last attempt and last status code stay what they
	// were (only the attempt count drops).
	PurgeKindWebhookAttempts PurgeKind = "webhook_attempts"
	// PurgeKindAudit: audit log entries written before the cutoff.
	PurgeKindAudit PurgeKind = "audit"
	// PurgeKindNonces: request nonces recorded before the cutoff.
	PurgeKindNonces PurgeKind = "nonces"
	// PurgeKindIdempotencyKeys: idempotency keys first used before the cutoff.
	PurgeKindIdempotencyKeys PurgeKind = "idempotency_keys"
	// PurgeKindRateLimits: rate-limit buckets untouched since the cutoff (a bucket
	// idle for its refill window is full, and one recreated full is the same).
	PurgeKindRateLimits PurgeKind = "rate_limits"
	// PurgeKindBankCallbacks: bank callback event ids claimed before the cutoff
	// (the deduplication of a bank's redeliveries).
	PurgeKindBankCallbacks PurgeKind = "bank_callbacks"
	// PurgeKindPaymentCodes: wallets' payment codes that expired before the cutoff
	// (used or not: a used code's payment keeps it masked).
	PurgeKindPaymentCodes PurgeKind = "payment_codes"
	// PurgeKindCreditReports: the content of credit reports the bureau answered
	// before the cutoff (the row stays, status purged, so that GET says so and its
	// reads stay on record).
	PurgeKindCreditReports PurgeKind = "credit_reports"
)

// purgeSpec is how a kind's batch is selected and deleted: the oldest rows by the
// indexed column age whose age is before the cutoff and that meet cond, by their
// primary key; the delete checks age and cond again, so that a row changed between
// the two statements (a bucket taken from, an event redelivered) is kept.
type purgeSpec struct {
	table string
	keys  []string
	age   string
	// cond is SQL on the row (the table under its own name), each ? the cutoff.
	cond string
	// micros: age holds microseconds since the epoch, not a DATETIME.
	micros bool
}

var purgeSpecs = map[PurgeKind]purgeSpec{
	PurgeKindNonces:          {table: "nonces", keys: []string{"merchant_id", "nonce"}, age: "created_at"},
	PurgeKindIdempotencyKeys: {table: "idempotency_keys", keys: []string{"merchant_id", "idem_key"}, age: "created_at"},
	PurgeKindRateLimits:      {table: "rate_limits", keys: []string{"merchant_id"}, age: "updated_us", micros: true},
	PurgeKindBankCallbacks:   {table: "bank_callback_events", keys: []string{"channel", "event_id"}, age: "received_at"},
	PurgeKindAudit:           {table: "audit_log", keys: []string{"id"}, age: "created_at"},
	PurgeKindPaymentCodes:    {table: "payment_codes", keys: []string{"code_hash"}, age: "expires_at"},
	PurgeKindEvents: {table: "events", keys: []string{"id"}, age: "created_at",
		cond: `EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.event_id = events.id)
			AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.event_id = events.id AND a.attempted_at >= ?)`},
}

// PurgeBatch deletes up to limit records of the kind that are past the cutoff
// (before) and no longer needed, oldest first, and reports how many it deleted and
// whether more may follow (the batch was full). Each batch is two bounded statements
// over an index, the same on SQLite and MySQL: the purge of a large backlog is many
// short batches, never one long delete.
func (s *Store) PurgeBatch(ctx context.Context, kind PurgeKind, before time.Time, limit int) (deleted int64, more bool, err error) {
	if limit <= 0 {
		return 0, false, fmt.Errorf("purge %s: the batch limit must be positive", kind)
	}
	before = before.UTC()
	if kind == PurgeKindWebhookAttempts {
		deleted, more, err = s.purgeWebhookAttempts(ctx, before, limit)
	} else if kind == PurgeKindCreditReports {
		var n int
		n, err = s.PurgeCreditReports(ctx, before, limit)
		deleted, more = int64(n), n == limit
	} else if spec, ok := purgeSpecs[kind]; ok {
		deleted, more, err = s.purgeRows(ctx, spec, before, limit)
	} else {
		return 0, false, fmt.Errorf("purge: unknown kind %q", kind)
	}
	if err != nil {
		return deleted, false, fmt.Errorf("purge %s: %w", kind, translate(err))
	}
	return deleted, more, nil
}

// purgeAll deletes everything of the kind past the cutoff, batch after batch.
func (s *Store) purgeAll(ctx context.Context, kind PurgeKind, before time.Time) (int64, error) {
	var total int64
	for {
		n, more, err := s.PurgeBatch(ctx, kind, before, defaultPurgeBatch)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// defaultPurgeBatch is the batch of purgeAll.
const defaultPurgeBatch = 1000

func (s *Store) purgeRows(ctx context.Context, spec purgeSpec, before time.Time, limit int) (int64, bool, error) {
	var cutoff any = before
	if spec.micros {
		cutoff = before.UnixMicro()
	}
	where := spec.age + " < ?"
	args := []any{cutoff}
	if spec.cond != "" {
		where += " AND " + spec.cond
		for range strings.Count(spec.cond, "?") {
			args = append(args, before)
		}
	}
	keys, err := s.selectKeys(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT %d",
		strings.Join(spec.keys, ", "), spec.table, where, spec.age, limit), args, len(spec.keys))
	if err != nil || len(keys) == 0 {
		return 0, false, err
	}
	in, inArgs := s.keysIn(spec.keys, keys)
	var deleted int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s AND %s", spec.table, in, where), append(inArgs, args...)...)
		if res.Error != nil {
			return res.Error
		}
		deleted = res.RowsAffected
		if spec.table != "events" {
			return nil
		}
		// The attempts of the events just deleted (an event kept by the check
		// above keeps its attempts).
		ids, idArgs := s.keysIn([]string{"event_id"}, keys)
		return tx.Exec("DELETE FROM webhook_attempts WHERE "+ids+
			" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = webhook_attempts.event_id)", idArgs...).Error
	})
	if err != nil {
		return 0, false, err
	}
	return deleted, len(keys) == limit, nil
}

// selectKeys runs a query of n key columns and returns its rows.
func (s *Store) selectKeys(ctx context.Context, query string, args []any, n int) ([][]any, error) {
	rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		key := make([]any, n)
		ptrs := make([]any, n)
		for i := range key {
			ptrs[i] = &key[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range key {
			if b, ok := v.([]byte); ok {
				// MySQL's driver answers text as bytes; SQLite compares a blob
				// with no text, so the keys go back as strings.
				key[i] = string(b)
			}
		}
		out = append(out, key)
	}
	return out, rows.Err()
}

// keysIn is the condition "the row's key is one of keys" and its arguments: col IN
// (...) for one column; for several, a row value IN a list of rows (SQLite takes
// the list as VALUES, MySQL as row constructors; both look each row up by the
// primary key).
func (s *Store) keysIn(cols []string, keys [][]any) (string, []any) {
	args := make([]any, 0, len(keys)*len(cols))
	items := make([]string, len(keys))
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i, k := range keys {
		args = append(args, k[:len(cols)]...)
		items[i] = one
	}
	if len(cols) == 1 {
		return cols[0] + " IN (" + strings.Repeat("?,", len(keys)-1) + "?)", args
	}
	list := strings.Join(items, ",")
	if s.db.Dialect == DialectSQLite {
		list = "VALUES " + list
	}
	return "(" + strings.Join(cols, ", ") + ") IN (" + list + ")", args
}

// attemptsPurgedTo names the maintenance_state row of how far the purge of webhook
// attempts has scanned.
const attemptsPurgedTo = "purge_webhook_attempts_to"

// purgeWebhookAttempts scans the attempts older than the cutoff in the order they
// were made, from where the last batch stopped, and deletes those that decide
// nothing (PurgeKindWebhookAttempts). What it keeps stays behind the mark, so that
// no batch scans it again: an event's attempts are only ever added, so an attempt
// that is not its event's latest never becomes it.
func (s *Store) purgeWebhookAttempts(ctx context.Context, before time.Time, limit int) (int64, bool, error) {
	mark, _, _, err := s.maintenanceValue(ctx, attemptsPurgedTo)
	if err != nil {
		return 0, false, err
	}
	var rows []webhookAttemptRow
	err = s.db.WithContext(ctx).Select("event_id, attempt, attempted_at, status_code, gave_up").
		Where("attempted_at > ? AND attempted_at < ?", time.UnixMicro(mark).UTC(), before).
		Order("attempted_at").Limit(limit).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return 0, false, err
	}
	more := len(rows) == limit
	if more {
		// Attempts made in the same microsecond as the batch's last may lie beyond
		// it: leave them all to the next batch (unless the whole batch is one
		// microsecond, whose rest is then kept).
		last := rows[len(rows)-1].AttemptedAt
		n := len(rows)
		for n > 0 && rows[n-1].AttemptedAt.Equal(last) {
			n--
		}
		if n > 0 {
			rows = rows[:n]
		}
	}
	latest, err := s.latestAttempts(ctx, rows)
	if err != nil {
		return 0, false, err
	}
	var doomed [][]any
	for _, r := range rows {
		if r.model().Succeeded() || r.GaveUp != 0 || r.Attempt >= latest[r.EventID] {
			continue
		}
		doomed = append(doomed, []any{r.EventID, r.Attempt})
	}
	var deleted int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(doomed) > 0 {
			in, args := s.keysIn([]string{"event_id", "attempt"}, doomed)
			res := tx.Exec("DELETE FROM webhook_attempts WHERE "+in, args...)
			if res.Error != nil {
				return res.Error
			}
			deleted = res.RowsAffected
		}
		return setMaintenanceValue(tx, attemptsPurgedTo, rows[len(rows)-1].AttemptedAt.UnixMicro(), time.Now())
	})
	if err != nil {
		return 0, false, err
	}
	return deleted, more, nil
}

// latestAttempts is the highest attempt number of each event of rows.
func (s *Store) latestAttempts(ctx context.Context, rows []webhookAttemptRow) (map[string]int, error) {
	seen := map[string]bool{}
	var ids []string
	for _, r := range rows {
		if !seen[r.EventID] {
			seen[r.EventID] = true
			ids = append(ids, r.EventID)
		}
	}
	var maxes []struct {
		EventID string
		N       int
	}
	err := s.db.WithContext(ctx).Model(&webhookAttemptRow{}).Select("event_id, MAX(attempt) AS n").
		Where("event_id IN ?", ids).Group("event_id").Scan(&maxes).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(maxes))
	for _, m := range maxes {
		out[m.EventID] = m.N
	}
	return out, nil
}
