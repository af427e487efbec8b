// Package yield is the balance yield's engine: it credits one range of the opted-in
// wallets for one day, a page at a time, and splits the wallets into ranges for the
// day's run to spread over the workers.
//
// A wallet earns for a day D (a civil date in Asia/Shanghai) when it was opted in at
// D's end (D+1 00:00 Asia/Shanghai), on its balance at that instant: its cached
// balance less the entries created after it, read in one statement (one snapshot),
// so that what was posted after the day's end, including the day's own credit, is
// not counted. The credit and the carried remainder follow models.YieldDay from the
// carry of the wallet's latest earlier day. Each page is posted with one
// ledger.PostBatch (one journal per wallet and day, key yield/<account>/<date>), then
// its wallet-day rows are inserted (insert-ignore). The computation is deterministic
// (the balance at an instant in the past, the carry of an earlier row), so a crash
// between the journals and the rows is repaired by running the page again: the
// journals are found by their keys, the rows written then. A wallet whose row for the
// day exists is counted from its row and posts nothing.
package yield

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// DefaultPageSize is how many wallets a page holds (one PostBatch, one insert).
const DefaultPageSize = 500

// Engine credits the balance yield.
type Engine struct {
	DB     *store.DB
	Ledger *ledger.Ledger
	// PageSize bounds the wallets in memory at once (0: DefaultPageSize).
	PageSize int
	// Now is the clock (nil: time.Now); a day is credited only once it has ended.
	Now func() time.Time
}

// Checkpoint is where a range's crediting is: every wallet up to LastAccount is
// credited and recorded, with the totals so far. A retry resumes after it.
type Checkpoint struct {
	LastAccount string             `json:"last_account"`
	Totals      models.YieldTotals `json:"totals"`
	Pages       int                `json:"pages"`
}

// Job is one range of one day.
type Job struct {
	RunID        string
	Day          string
	IncomePer10k int64
	Range        models.YieldRange
	// Resume is the checkpoint of an earlier attempt (nil: from the range's start).
	Resume *Checkpoint
	// Progress is told each checkpoint once its page is durable (nil: nobody).
	Progress func(Checkpoint)
}

// ErrDayNotEnded is a day whose end has not come: its balances are not final.
var ErrDayNotEnded = errors.New("the day has not ended")

// ErrRejected is a range in which the ledger refused a wallet's credit (the other
// wallets are credited and recorded; a rerun tries the refused ones again).
var ErrRejected = errors.New("yield credit refused by the ledger")

func (e *Engine) pageSize() int {
	if e.PageSize <= 0 {
		return DefaultPageSize
	}
	return e.PageSize
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// walletDay is one wallet of a page: its balance at the day's end, the carry of its
// latest earlier day, and its row of the day if it has one.
type walletDay struct {
	AccountID  string
	MerchantID string
	Balance    int64
	PrevCarry  int64
	DoneIncome *int64
	DoneCarry  *int64
}

type dayRow struct {
	AccountID string `gorm:"primaryKey"`
	Day       string `gorm:"primaryKey"`
	RunID     string
	Balance   int64
	Income    int64
	Carry     int64
	JournalID string
	CreatedAt time.Time
}

func (dayRow) TableName() string { return "yield_days" }

// Credit credits every wallet of the job's range for the day and returns the range's
// totals (wallets credited by an earlier attempt counted too, from their rows).
// ErrDayNotEnded, ErrRejected (after the whole range), models.ErrYieldInput, or a
// database error (the caller retries from the last checkpoint).
func (e *Engine) Credit(ctx context.Context, job Job) (models.YieldTotals, error) {
	end, err := models.YieldDayEnd(job.Day)
	if err != nil {
		return models.YieldTotals{}, fmt.Errorf("%w: %w", models.ErrYieldInput, err)
	}
	if !e.now().After(end) {
		return models.YieldTotals{}, fmt.Errorf("yield of %s: %w (it ends at %s)", job.Day, ErrDayNotEnded, end.Format(time.RFC3339))
	}
	if job.IncomePer10k < 0 {
		return models.YieldTotals{}, models.ErrYieldInput
	}
	income, err := e.Ledger.EnsureAccount(ctx, ledger.FundIncomeSpec(models.YieldCurrency))
	if err != nil {
		return models.YieldTotals{}, fmt.Errorf("fund income account: %w", err)
	}
	cp := Checkpoint{LastAccount: job.Range.After}
	if job.Resume != nil && job.Resume.LastAccount > cp.LastAccount {
		cp = *job.Resume
	}
	var rejected int
	for {
		page, err := e.page(ctx, job, end, cp.LastAccount)
		if err != nil {
			return cp.Totals, err
		}
		if len(page) == 0 {
			break
		}
		t, refused, err := e.creditPage(ctx, job, income, page)
		if err != nil {
			return cp.Totals, err
		}
		rejected += refused
		cp.Totals = cp.Totals.Add(t)
		cp.LastAccount = page[len(page)-1].AccountID
		cp.Pages++
		if job.Progress != nil {
			job.Progress(cp)
		}
		if len(page) < e.pageSize() {
			break
		}
	}
	if rejected > 0 {
		return cp.Totals, fmt.Errorf("%w: %d wallets of range (%q, %q]", ErrRejected, rejected, job.Range.After, job.Range.UpTo)
	}
	return cp.Totals, nil
}

// page reads the next page of the range's wallets after `after`, with everything
// their day needs, in one statement: one snapshot of the cached balances and the
// entries after the day's end.
func (e *Engine) page(ctx context.Context, job Job, end time.Time, after string) ([]walletDay, error) {
	q := `SELECT y.account_id, a.merchant_id,
		a.balance - COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id AND e.created_at >= ?), 0) AS balance,
		COALESCE((SELECT p.carry FROM yield_days p WHERE p.account_id = y.account_id AND p.day < ? ORDER BY p.day DESC LIMIT 1), 0) AS prev_carry,
		d.income AS done_income, d.carry AS done_carry
	FROM yield_wallets y
	JOIN accounts a ON a.id = y.account_id
	LEFT JOIN yield_days d ON d.account_id = y.account_id AND d.day = ?
	WHERE y.account_id > ? AND y.enabled_at < ? AND (y.enabled = 1 OR y.disabled_at >= ?)
		AND a.kind = ? AND a.currency = ?
		AND (d.account_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM yield_days l WHERE l.account_id = y.account_id AND l.day > ?))`
	args := []any{end, job.Day, job.Day, after, end, end, string(ledger.KindCustomerWallet), string(models.YieldCurrency), job.Day}
	if job.Range.UpTo != "" {
		q += ` AND y.account_id <= ?`
		args = append(args, job.Range.UpTo)
	}
	q += ` ORDER BY y.account_id LIMIT ?`
	args = append(args, e.pageSize())
	var page []walletDay
	if err := e.DB.WithContext(ctx).Raw(q, args...).Scan(&page).Error; err != nil {
		return nil, fmt.Errorf("yield page of %s after %q: %w", job.Day, after, err)
	}
	return page, nil
}

// creditPage posts the page's credits in one batch and records its rows; it answers
// the page's totals and how many credits the ledger refused (their rows are not
// written, so that a rerun tries them again).
func (e *Engine) creditPage(ctx context.Context, job Job, income string, page []walletDay) (models.YieldTotals, int, error) {
	var t models.YieldTotals
	rows := make([]dayRow, 0, len(page))
	postings := make([]ledger.Posting, 0, len(page))
	posted := make([]int, 0, len(page)) // rows index of each posting
	now := time.Now().UTC()
	for _, w := range page {
		if w.DoneIncome != nil && w.DoneCarry != nil {
			t = t.Add(models.YieldTotals{Wallets: 1, Credited: *w.DoneIncome, Carried: *w.DoneCarry})
			continue
		}
		credit, carry, err := models.YieldDay(max(w.Balance, 0), job.IncomePer10k, w.PrevCarry)
		if err != nil {
			return t, 0, fmt.Errorf("yield of %s on %s: %w", w.AccountID, job.Day, err)
		}
		rows = append(rows, dayRow{AccountID: w.AccountID, Day: job.Day, RunID: job.RunID, Balance: w.Balance, Income: credit, Carry: carry, CreatedAt: now})
		if credit > 0 {
			postings = append(postings, ledger.YieldPosting(income, w.AccountID, w.MerchantID, job.Day, job.RunID, credit))
			posted = append(posted, len(rows)-1)
		}
	}
	refused := map[int]bool{}
	if len(postings) > 0 {
		results, err := e.Ledger.PostBatch(ctx, postings)
		if err != nil {
			return t, 0, fmt.Errorf("post the yield of %s: %w", job.Day, err)
		}
		for i, r := range results {
			if r.Err != nil {
				refused[posted[i]] = true
				continue
			}
			rows[posted[i]].JournalID = r.Journal.ID
		}
	}
	keep := rows[:0]
	for i, r := range rows {
		if refused[i] {
			continue
		}
		keep = append(keep, r)
		t = t.Add(models.YieldTotals{Wallets: 1, Credited: r.Income, Carried: r.Carry})
	}
	if len(keep) > 0 {
		// Insert-ignore: a concurrent attempt of the same range wrote the same rows
		// (the computation is deterministic), so a row already there is this one.
		if err := e.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&keep).Error; err != nil {
			return t, 0, fmt.Errorf("record the yield of %s: %w", job.Day, err)
		}
	}
	return t, len(refused), nil
}

// Plan splits the wallets opted in to the yield into ranges of about rangeSize
// wallets by account id, at most maxRanges of them (the size grows to fit), in one
// pass over the opt-in table's primary key: each boundary is the rangeSize-th id
// after the previous one. The ranges cover every account id: the first starts at the
// beginning, the last runs to the end, whatever opts in meanwhile.
func (e *Engine) Plan(ctx context.Context, rangeSize, maxRanges int) ([]models.YieldRange, error) {
	if rangeSize <= 0 || maxRanges <= 0 {
		return nil, fmt.Errorf("%w: range size %d, at most %d ranges", models.ErrYieldInput, rangeSize, maxRanges)
	}
	db := e.DB.WithContext(ctx)
	var n int64
	if err := db.Table("yield_wallets").Count(&n).Error; err != nil {
		return nil, fmt.Errorf("count opted-in wallets: %w", err)
	}
	size := int64(rangeSize)
	if need := (n + int64(maxRanges) - 1) / int64(maxRanges); need > size {
		size = need
	}
	var ranges []models.YieldRange
	after := ""
	for len(ranges) < maxRanges-1 {
		var ids []string
		if err := db.Raw(`SELECT account_id FROM yield_wallets WHERE account_id > ? ORDER BY account_id LIMIT 1 OFFSET ?`, after, size-1).
			Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("plan the yield ranges after %q: %w", after, err)
		}
		if len(ids) == 0 {
			break
		}
		ranges = append(ranges, models.YieldRange{After: after, UpTo: ids[0]})
		after = ids[0]
	}
	return append(ranges, models.YieldRange{After: after}), nil
}
