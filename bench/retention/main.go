// Command retention measures what the records with a retention (PAYFLOW_RETENTION_*)
// cost in MariaDB/MySQL: it inserts, into a fresh migrated database, the rows that
// a number of card payments leave in each such table (with the shapes the code
// writes: ids, the payment as the API shows it in each event, a timeout's error text
// in a failed webhook attempt), runs ANALYZE TABLE, reads each table's data_length
// and index_length from information_schema, and reports rows and bytes per row and
// per million payments, from which docs/capacity.md derives the steady-state sizes;
// then it purges all of it in the purge's batches and reports how fast each kind
// went:
//
//	go run ./bench/retention -out bench/results/retention.md   (make bench-retention)
//
// The payments' own records (payments, journals, entries, bank transfers) are kept
// forever and are measured per flow by make capacity; this measures what the purge
// bounds. The rows per payment are the assumptions below (named, printed with the
// results); bytes per row do not depend on them.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// Rows a card payment leaves in the tables with a retention (docs/capacity.md's
// traffic model).
const (
	// callsPerPayment: its creating POST and 1.5 reads (c = 0.4), one nonce each.
	callsPerPayment = 2.5
	// notifyShare: payments created with a notify_url, one event each (h = 0.5).
	notifyShare = 0.5
	// deadShare: events whose endpoint is down for the whole delivery window,
	// which then makes failedAttempts attempts; the others are delivered at once.
	deadShare      = 0.01
	failedAttempts = 33
	// callbacksPerPayment: bank callbacks claimed (a channel that calls back,
	// as Stripe does once per charge).
	callbacksPerPayment = 1.0
)

// Not per payment: one row per operator act, per merchant.
const (
	auditRows     = 10_000
	rateLimitRows = 10_000
)

func main() {
	payments := flag.Int("payments", 1_000_000, "payments whose rows are inserted; the report scales them to a million")
	out := flag.String("out", "bench/results/retention.md", "where to write the report")
	flag.Parse()
	if err := run(*payments, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/retention:", err)
		os.Exit(1)
	}
}

// table is one measured table: what was inserted and what it takes.
type table struct {
	name, what string
	// perPayment is rows per payment (0: not per payment; per is then the unit).
	perPayment float64
	per        string
	rows       int64
	data, idx  int64
}

func run(payments int, out string) error {
	ctx := context.Background()
	_, db, drop, err := testenv.OpenMySQL(ctx, "payflow_retention", 4)
	if err != nil {
		return err
	}
	defer drop()
	started := time.Now()
	s := &seeder{db: db, day: time.Now().UTC().Add(-24 * time.Hour)}
	events := int(float64(payments) * notifyShare)
	dead := int(float64(events) * deadShare)
	tables := []*table{
		{name: "nonces", what: "one per API call", perPayment: callsPerPayment},
		{name: "idempotency_keys", what: "one per creating call", perPayment: 1},
		{name: "events", what: "one per payment with a notify_url", perPayment: notifyShare},
		{name: "webhook_attempts", what: "delivered: one 2xx attempt per event", perPayment: notifyShare * (1 - deadShare)},
		{name: "webhook_attempts", what: fmt.Sprintf("dead endpoint, %g of events: %d failed attempts with a timeout's error", deadShare, failedAttempts),
			perPayment: notifyShare * deadShare * failedAttempts},
		{name: "bank_callback_events", what: "one claimed callback per payment", perPayment: callbacksPerPayment},
		{name: "audit_log", what: "one per operator act", per: "act"},
		{name: "rate_limits", what: "one per merchant", per: "merchant"},
	}
	fills := []func() error{
		func() error { return s.nonces(int(float64(payments) * callsPerPayment)) },
		func() error { return s.idempotencyKeys(payments) },
		func() error { return s.events(events) },
		func() error { return s.attempts(events-dead, 1, 200) },
		func() error { return s.attempts(dead, failedAttempts, 0) },
		func() error { return s.bankCallbacks(int(float64(payments) * callbacksPerPayment)) },
		func() error { return s.audit(auditRows) },
		func() error { return s.rateLimits(rateLimitRows) },
	}
	// A table filled in two steps (the attempts) is measured after each: the
	// second step's rows and bytes are the difference.
	before := map[string][3]int64{}
	for i, t := range tables {
		if err := fills[i](); err != nil {
			return fmt.Errorf("fill %s: %w", t.name, err)
		}
		rows, data, idx, err := measure(ctx, db, t.name)
		if err != nil {
			return err
		}
		prev := before[t.name]
		t.rows, t.data, t.idx = rows-prev[0], data-prev[1], idx-prev[2]
		before[t.name] = [3]int64{rows, data, idx}
		fmt.Fprintf(os.Stderr, "%s (%s): %d rows, %d + %d bytes\n", t.name, t.what, t.rows, t.data, t.idx)
	}
	took := time.Since(started)
	st := store.New(db, nil)
	// The measure schedule's count: every event above is of the last day.
	countStart := time.Now()
	backlog, err := st.WebhookBacklog(ctx, time.Now())
	if err != nil {
		return err
	}
	count := measured{events: int64(events), backlog: backlog, took: time.Since(countStart)}
	purged, err := purgeAll(ctx, st)
	if err != nil {
		return err
	}
	report := render(tables, count, purged, payments, took)
	fmt.Print(report)
	return os.WriteFile(out, []byte(report), 0o644)
}

// measured is how long the measure schedule's count of the webhook backlog took
// over the day's events.
type measured struct {
	events, backlog int64
	took            time.Duration
}

// purgeRate is how fast the purge deleted one kind: everything inserted, in the
// purge's batches.
type purgeRate struct {
	kind    store.PurgeKind
	rows    int64
	batches int
	took    time.Duration
}

// purgeAll purges every kind, as the purge schedule does, with a cutoff past every
// row, and times it.
func purgeAll(ctx context.Context, st *store.Store) ([]purgeRate, error) {
	cutoff := time.Now().Add(time.Hour)
	var out []purgeRate
	// The attempts before the events: the events take their attempts with them.
	for _, kind := range []store.PurgeKind{store.PurgeKindNonces, store.PurgeKindIdempotencyKeys, store.PurgeKindBankCallbacks,
		store.PurgeKindWebhookAttempts, store.PurgeKindEvents, store.PurgeKindAudit, store.PurgeKindRateLimits} {
		r := purgeRate{kind: kind}
		start := time.Now()
		for more := true; more; r.batches++ {
			n, m, err := st.PurgeBatch(ctx, kind, cutoff, 1000)
			if err != nil {
				return nil, err
			}
			r.rows, more = r.rows+n, m
		}
		r.took = time.Since(start)
		fmt.Fprintf(os.Stderr, "purged %s: %d rows in %d batches, %s\n", kind, r.rows, r.batches, r.took.Round(time.Millisecond))
		out = append(out, r)
	}
	return out, nil
}

// measure is a table's exact row count and its data and index bytes after ANALYZE.
func measure(ctx context.Context, db *store.DB, name string) (rows, data, idx int64, err error) {
	if err := db.WithContext(ctx).Exec("ANALYZE TABLE " + name).Error; err != nil {
		return 0, 0, 0, err
	}
	if err := db.WithContext(ctx).Raw("SELECT COUNT(*) FROM " + name).Scan(&rows).Error; err != nil {
		return 0, 0, 0, err
	}
	var size struct{ Data, Idx int64 }
	err = db.WithContext(ctx).Raw(`SELECT data_length AS data, index_length AS idx FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name = ?`, name).Scan(&size).Error
	return rows, size.Data, size.Idx, err
}

func render(tables []*table, count measured, purged []purgeRate, payments int, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Rows and bytes of the records with a retention\n\n")
	fmt.Fprintf(&b, "Measured by `make bench-retention` on %s (%d cores, %s), %s, in %s: the rows %d card payments\n",
		host(), runtime.NumCPU(), runtime.GOOS, time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second), payments)
	fmt.Fprintf(&b, "leave, inserted into a fresh migrated database on MariaDB at %s; bytes are InnoDB's `data_length +\n", testenv.MySQLAddr())
	fmt.Fprintf(&b, "index_length` after `ANALYZE TABLE`, scaled linearly to a million payments. Per payment: %g API calls\n", callsPerPayment)
	fmt.Fprintf(&b, "(one nonce each), one idempotency key, %g events (h), each delivered at once but %g of them to a dead\n", notifyShare, deadShare)
	fmt.Fprintf(&b, "endpoint (%d failed attempts), %g claimed bank callback(s). Audit entries and rate-limit buckets are not per payment.\n\n", failedAttempts, callbacksPerPayment)
	b.WriteString("| table | rows | rows per payment | data + index bytes | bytes per row | rows per million payments | MB per million payments |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, t := range tables {
		perRow := float64(t.data+t.idx) / float64(t.rows)
		name := t.name + " (" + t.what + ")"
		if t.perPayment == 0 {
			fmt.Fprintf(&b, "| %s | %d | per %s | %d + %d | %.0f | - | - |\n", name, t.rows, t.per, t.data, t.idx, perRow)
			continue
		}
		perMillion := t.perPayment * 1e6
		fmt.Fprintf(&b, "| %s | %d | %g | %d + %d | %.0f | %.0f | %.1f |\n", name, t.rows, t.perPayment, t.data, t.idx, perRow,
			perMillion, perMillion*perRow/1e6)
	}
	fmt.Fprintf(&b, "\nThe measure schedule's count of the webhook backlog over these %d events, all of the last day: %.2f s (backlog %d, the\n",
		count.events, count.took.Seconds(), count.backlog)
	b.WriteString("dead endpoints' events, whose delivery has not given up).\n")
	b.WriteString("\nThe purge of all of it, kind after kind, in the purge's batches of 1000 rows (the events' attempts go with\n")
	b.WriteString("them; the webhook attempts purge deletes the dead endpoints' non-deciding attempts):\n\n")
	b.WriteString("| kind | rows deleted | batches | seconds | rows per second |\n|---|---|---|---|---|\n")
	for _, r := range purged {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.0f |\n", r.kind, r.rows, r.batches, r.took.Seconds(), float64(r.rows)/r.took.Seconds())
	}
	return b.String()
}

func host() string {
	h, err := os.Hostname()
	if err != nil {
		return "?"
	}
	return h
}

// seeder inserts rows shaped as the code writes them, 500 to a statement, with
// times spread over a day (the purge's indexes see a day's order, not one instant).
type seeder struct {
	db  *store.DB
	day time.Time
	n   int
}

func (s *seeder) at(i, of int) time.Time {
	return s.day.Add(time.Duration(i) * 24 * time.Hour / time.Duration(of)).Truncate(time.Microsecond)
}

// insert adds n rows to table: row(i) gives each row's values in cols' order.
func (s *seeder) insert(table string, cols []string, n int, row func(i int) []any) error {
	const per = 500
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+",", end-start), ",")
		if err := s.db.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// merchant spreads the rows over 100 merchants.
func merchant(i int) string { return fmt.Sprintf("mch_%08d", i%100) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *seeder) nonces(n int) error {
	return s.insert("nonces", []string{"merchant_id", "nonce", "created_at"}, n, func(i int) []any {
		return []any{merchant(i), randHex(12), s.at(i, n)}
	})
}

func (s *seeder) idempotencyKeys(n int) error {
	return s.insert("idempotency_keys", []string{"merchant_id", "idem_key", "fingerprint", "object_id", "created_at"}, n, func(i int) []any {
		// A client's key is commonly a UUID.
		return []any{merchant(i), uuid(), randHex(32), models.NewID(models.PrefixPayment), s.at(i, n)}
	})
}

func uuid() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const notifyURL = "https://merchant.example.com/webhooks/payflow"

// eventIDs are the events made, for their attempts.
var eventIDs []string

func (s *seeder) events(n int) error {
	return s.insert("events", []string{"id", "merchant_id", "type", "object_id", "notify_url", "data", "created_at"}, n, func(i int) []any {
		at := s.at(i, n)
		id, pay := models.NewID(models.PrefixEvent), models.NewID(models.PrefixPayment)
		eventIDs = append(eventIDs, id)
		// The payment as the API shows it, which the event carries.
		data, _ := json.Marshal(models.Payment{
			ID: pay, Object: "payment", MerchantID: merchant(i), Amount: 1050, Currency: "CNY",
			Source: models.PaymentSource{Type: "card", Token: "tok_success"}, Channel: "banksim", Status: models.PaymentSucceeded,
			Fee: 32, NotifyURL: notifyURL, WorkflowID: workflows.PaymentWorkflowID(merchant(i), pay),
			CreatedAt: at.Add(-2 * time.Second), UpdatedAt: at,
		})
		return []any{id, merchant(i), string(models.EventPaymentSucceeded), pay, notifyURL, string(data), at}
	})
}

// attempts records per attempts of each of the next n events: status 200 (no
// error) or, for 0, a timeout.
func (s *seeder) attempts(n, per, status int) error {
	ids := eventIDs[s.n : s.n+n]
	s.n += n
	errText := ""
	if status == 0 {
		errText = `Post "` + notifyURL + `": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
	}
	return s.insert("webhook_attempts", []string{"event_id", "attempt", "delivery_id", "attempted_at", "status_code", "error_text", "duration_ms"},
		n*per, func(i int) []any {
			return []any{ids[i/per], i%per + 1, uuid(), s.at(i, n*per), status, errText, 10_000}
		})
}

func (s *seeder) bankCallbacks(n int) error {
	return s.insert("bank_callback_events", []string{"channel", "event_id", "reference", "received_at"}, n, func(i int) []any {
		// Stripe's event ids: evt_ and 24 characters.
		return []any{"stripe", "evt_" + randHex(12), models.NewID(models.PrefixPayment), s.at(i, n)}
	})
}

func (s *seeder) audit(n int) error {
	return s.insert("audit_log", []string{"id", "operator", "action", "target", "reason", "result", "detail", "created_at"}, n, func(i int) []any {
		return []any{models.NewID(models.PrefixAudit), "ops-token-1", "approve_withdrawal", models.NewID(models.PrefixWithdrawal),
			"customer verified by phone, ticket 48213", "ok", "withdrawal approved; hold kept until the payout settles", s.at(i, n)}
	})
}

func (s *seeder) rateLimits(n int) error {
	return s.insert("rate_limits", []string{"merchant_id", "tokens", "updated_us"}, n, func(i int) []any {
		return []any{fmt.Sprintf("mch_%08d", i), int64(399_000_000), s.at(i, n).UnixMicro()}
	})
}
