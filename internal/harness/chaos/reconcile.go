package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/payflow/payflow/models"
)

// Reconciliation is a run as the ops API shows it, with its first differences.
type Reconciliation struct {
	models.Reconciliation
	Differences []models.Difference `json:"differences"`
}

// Reconcile runs a reconciliation of one channel's day through the ops API, as an
// operator does (a new run of the day, also when one ran already), waits for its
// end, and returns it with its differences (the first 100, with in-transit items).
func (d *Driver) Reconcile(ctx context.Context, channel, day string) (Reconciliation, error) {
	body, _ := json.Marshal(map[string]any{"channel": channel, "date": day, "rerun": true})
	r, err := d.Ops(ctx, "POST", "/v1/ops/reconciliations", string(body))
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile %s %s: %w", channel, day, err)
	}
	if r.Status != http.StatusAccepted && r.Status != http.StatusOK {
		return Reconciliation{}, fmt.Errorf("reconcile %s %s: HTTP %d: %s", channel, day, r.Status, r.Body)
	}
	var rec Reconciliation
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return rec, err
	}
	for {
		r, err := d.Ops(ctx, "GET", "/v1/ops/reconciliations/"+rec.ID, "")
		if err == nil && r.Status == http.StatusOK {
			if err := json.Unmarshal(r.Body, &rec); err != nil {
				return rec, err
			}
			if rec.Status.Finished() {
				if rec.Status != models.ReconciliationCompleted {
					return rec, fmt.Errorf("reconciliation %s of %s %s %s: %s", rec.ID, channel, day, rec.Status, rec.Error)
				}
				return rec, nil
			}
		}
		select {
		case <-ctx.Done():
			return rec, fmt.Errorf("reconciliation %s of %s %s: still %s when the run ended", rec.ID, channel, day, rec.Status)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ReconcileDays reconciles every channel for every UTC day from since to now, and
// returns a problem per difference found (a chaos run must leave none) and a line
// per run for the report.
func (d *Driver) ReconcileDays(ctx context.Context, channels []string, since, now time.Time) (problems, lines []string) {
	for day := since.UTC().Truncate(24 * time.Hour); !day.After(now.UTC()); day = day.AddDate(0, 0, 1) {
		for _, ch := range channels {
			rec, err := d.Reconcile(ctx, ch, day.Format(models.DayLayout))
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			c := rec.Counts
			lines = append(lines, fmt.Sprintf("reconciliation %s %s: %d statement lines, %d of our records, %d matched, %d in transit, %d differences",
				ch, rec.Date, c.StatementLines, c.OurRecords, c.Matched, c.InTransit, c.Differences()))
			for _, df := range rec.Differences {
				if df.Kind == models.DiffInTransit {
					continue
				}
				problems = append(problems, fmt.Sprintf("reconciliation %s %s: %s %s (ours %s, bank %s, ledger %s)",
					ch, rec.Date, df.Kind, df.Reference, side(df.Ours), side(df.Bank), side(df.Ledger)))
			}
			if n := c.Differences(); n > int64(len(rec.Differences)) {
				problems = append(problems, fmt.Sprintf("reconciliation %s %s: %d differences in all", ch, rec.Date, n))
			}
		}
	}
	return problems, lines
}

func side(s *models.DifferenceSide) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%s %d %s %s", s.Kind, s.Amount, s.Currency, s.Status)
}
