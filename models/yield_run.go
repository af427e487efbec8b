package models

import (
	"fmt"
	"time"
)

// FlowYield is the balance yield's flow: the PayflowFlow of a day's run
// (yield/<product>/<date>) and the flow of its journals.
const FlowYield Flow = "yield"

// PrefixYieldRun prefixes the id of a day's yield run.
const PrefixYieldRun = "yr_"

// YieldProduct is the money-market product whose published income the balance yield
// pays.
const YieldProduct = "prd_mmf"

// YieldCurrency is the currency of the wallets that earn the balance yield (the
// money-market product's).
const YieldCurrency Currency = "CNY"

// yieldZone is the fund company's calendar (Shanghai): a yield day is a civil date
// in Asia/Shanghai, a fixed UTC+8 without daylight saving time.
var yieldZone = Shanghai

// YieldDayEnd is the instant the yield day (YYYY-MM-DD, Asia/Shanghai) ends: the next
// day's 00:00 Asia/Shanghai. A wallet earns on its balance at this instant.
func YieldDayEnd(day string) (time.Time, error) {
	d, err := time.ParseInLocation(DayLayout, day, yieldZone)
	if err != nil || d.Format(DayLayout) != day {
		return time.Time{}, fmt.Errorf("day %q is not YYYY-MM-DD", day)
	}
	return d.AddDate(0, 0, 1).UTC(), nil
}

// YieldDayOf is the yield day (Asia/Shanghai date) at instant t.
func YieldDayOf(t time.Time) string { return t.In(yieldZone).Format(DayLayout) }

// PreviousYieldDay is the yield day before the one at t: the day a run scheduled at t
// pays (the fund company publishes a day's income once it is over).
func PreviousYieldDay(t time.Time) string {
	return t.In(yieldZone).AddDate(0, 0, -1).Format(DayLayout)
}

// FormatYieldCarry spells a carried numerator (over YieldDenominator) as an exact
// decimal of minor units with ten fractional digits: 4123456789 is "0.4123456789",
// 12345678901234 (a sum of carries) "1234.5678901234". Never a float.
func FormatYieldCarry(numerator int64) string {
	sign := ""
	if numerator < 0 {
		sign, numerator = "-", -numerator
	}
	return fmt.Sprintf("%s%d.%010d", sign, numerator/YieldDenominator, numerator%YieldDenominator)
}

// YieldWorkflowID is yield/<product>/<YYYY-MM-DD>: one workflow id per product and
// day, the id of the day's run (workflows.YieldWorkflowID; the activity that opens a
// run records it too, and activities do not import workflows).
func YieldWorkflowID(productID, date string) string {
	return fmt.Sprintf("%s/%s/%s", FlowYield, productID, date)
}

// YieldRunStatus is where a day's yield run is.
type YieldRunStatus string

// Yield run statuses: running until the run records its end.
const (
	YieldRunRunning   YieldRunStatus = "running"
	YieldRunCompleted YieldRunStatus = "completed"
	YieldRunFailed    YieldRunStatus = "failed"
)

// Finished reports whether the run has recorded its end.
func (s YieldRunStatus) Finished() bool { return s == YieldRunCompleted || s == YieldRunFailed }

// YieldRun is one product's run of one day. TotalCredited is in minor units of
// YieldCurrency; CarriedTotal is the sum of the wallets' carried numerators after the
// day (over YieldDenominator).
type YieldRun struct {
	ID            string
	ProductID     string
	Date          string
	Status        YieldRunStatus
	IncomePer10k  int64
	Wallets       int64
	TotalCredited int64
	CarriedTotal  int64
	Error         string
	WorkflowID    string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// YieldDayRow is one wallet's day: its balance at the day's end, the income credited
// and the numerator it carried to the next day.
type YieldDayRow struct {
	AccountID string
	Date      string
	Balance   int64
	Income    int64
	Carry     int64
	JournalID string
}

// YieldRange is a slice of the opted-in wallets by account id: those after After
// (exclusive; "" from the first) up to UpTo (inclusive; "" to the last).
type YieldRange struct {
	After string `json:"after"`
	UpTo  string `json:"up_to"`
}

// YieldTotals are what a range (or a run) credited: wallets counted, minor units
// credited, and the carried numerators after the day summed.
type YieldTotals struct {
	Wallets  int64 `json:"wallets"`
	Credited int64 `json:"credited"`
	Carried  int64 `json:"carried"`
}

// Add returns the sum of two totals.
func (t YieldTotals) Add(o YieldTotals) YieldTotals {
	return YieldTotals{Wallets: t.Wallets + o.Wallets, Credited: t.Credited + o.Credited, Carried: t.Carried + o.Carried}
}

// YieldInput is the input of a day's run (YieldWorkflow, yield/<product>/<date>).
type YieldInput struct {
	RunID     string `json:"run_id"`
	ProductID string `json:"product_id"`
	Date      string `json:"date"`
}

// YieldResult is a finished run.
type YieldResult struct {
	RunID        string         `json:"run_id"`
	Status       YieldRunStatus `json:"status"`
	IncomePer10k int64          `json:"income_per_10k"`
	Ranges       int            `json:"ranges"`
	Totals       YieldTotals    `json:"totals"`
}

// ScheduledYieldInput is the input of the yield schedule's action.
type ScheduledYieldInput struct {
	ProductID string `json:"product_id"`
}

// ScheduledYieldResult is the run the schedule's firing opened.
type ScheduledYieldResult struct {
	RunID      string `json:"run_id"`
	WorkflowID string `json:"workflow_id"`
	Date       string `json:"date"`
	Created    bool   `json:"created"`
}

// OpenYieldRunInput asks for the run of a product and day: the existing one, or a
// new one whose workflow is started.
type OpenYieldRunInput struct {
	ProductID string `json:"product_id"`
	Date      string `json:"date"`
}

// OpenYieldRunResult is the run found or created.
type OpenYieldRunResult struct {
	RunID   string         `json:"run_id"`
	Status  YieldRunStatus `json:"status"`
	Created bool           `json:"created"`
}

// YieldIncomeInput asks for the product's published income of a day.
type YieldIncomeInput struct {
	ProductID string `json:"product_id"`
	Date      string `json:"date"`
}

// YieldIncomeResult is the income per 10,000 units of the day, in 1/10,000 of a
// minor unit.
type YieldIncomeResult struct {
	IncomePer10k int64 `json:"income_per_10k"`
}

// PlanYieldRangesInput asks to split the day's opted-in wallets into ranges of about
// RangeSize wallets, at most MaxRanges of them.
type PlanYieldRangesInput struct {
	Date      string `json:"date"`
	RangeSize int    `json:"range_size"`
	MaxRanges int    `json:"max_ranges"`
}

// PlanYieldRangesResult is the ranges, in account id order, covering every wallet.
type PlanYieldRangesResult struct {
	Ranges []YieldRange `json:"ranges"`
}

// CreditYieldRangeInput credits one range of wallets for the day.
type CreditYieldRangeInput struct {
	RunID        string     `json:"run_id"`
	Date         string     `json:"date"`
	IncomePer10k int64      `json:"income_per_10k"`
	Range        YieldRange `json:"range"`
}

// CreditYieldRangeResult is what the range credited (counting wallets credited by an
// earlier attempt or run of the day too, so that a rerun reports the same totals).
type CreditYieldRangeResult struct {
	Totals  YieldTotals `json:"totals"`
	Resumed bool        `json:"resumed"`
}

// FinishYieldRunInput records the end of a run.
type FinishYieldRunInput struct {
	RunID        string         `json:"run_id"`
	Status       YieldRunStatus `json:"status"`
	IncomePer10k int64          `json:"income_per_10k"`
	Totals       YieldTotals    `json:"totals"`
	Error        string         `json:"error,omitempty"`
}

// FinishYieldRunResult says whether this call recorded the end (false: recorded
// before).
type FinishYieldRunResult struct {
	Recorded bool `json:"recorded"`
}

// ErrTypeIncomeNotPublished: the fund company has not published the day's income
// yet; the activity is retried until it has.
const ErrTypeIncomeNotPublished = "income_not_published"
