package models

import (
	"fmt"
	"slices"
	"time"
)

// DayLayout spells a UTC day (2026-01-31) in workflow ids, the API and statements.
const DayLayout = "2006-01-02"

// ParseDay parses a YYYY-MM-DD day and returns its midnight UTC. Only the canonical
// spelling is accepted, so that one day has one workflow id.
func ParseDay(s string) (time.Time, error) {
	d, err := time.Parse(DayLayout, s)
	if err != nil || d.Format(DayLayout) != s {
		return time.Time{}, fmt.Errorf("day %q is not YYYY-MM-DD", s)
	}
	return d, nil
}

// ReconciliationStatus is where a reconciliation run is.
type ReconciliationStatus string

// Reconciliation statuses: running until the run records its end.
const (
	ReconciliationRunning   ReconciliationStatus = "running"
	ReconciliationCompleted ReconciliationStatus = "completed"
	ReconciliationFailed    ReconciliationStatus = "failed"
)

// Finished reports whether the run has recorded its end.
func (s ReconciliationStatus) Finished() bool {
	return s == ReconciliationCompleted || s == ReconciliationFailed
}

// DifferenceKind says how the bank's statement and our records disagree about one
// reference (or why a statement line could not be compared at all).
type DifferenceKind string

// Difference kinds (docs/reconciliation.md says what each means and what to do).
// The three sides of a reference are the bank's statement line, our intent (the
// payment, refund, top-up, withdrawal or reversal) and the ledger (the journal that
// moved the channel's bank clearing account). malformed and unknown_currency report
// a bad statement line, with its line number, without stopping the run;
// balance_gap is a day's closing balance that the line differences do not explain.
const (
	DiffMissingOnOurSide   DifferenceKind = "missing_on_our_side"
	DiffMissingAtBank      DifferenceKind = "missing_at_bank"
	DiffAmountMismatch     DifferenceKind = "amount_mismatch"
	DiffCurrencyMismatch   DifferenceKind = "currency_mismatch"
	DiffStatusMismatch     DifferenceKind = "status_mismatch"
	DiffNotBooked          DifferenceKind = "not_booked"
	DiffMalformed          DifferenceKind = "malformed"
	DiffUnknownCurrency    DifferenceKind = "unknown_currency"
	DiffDuplicateReference DifferenceKind = "duplicate_reference"
	DiffBalanceGap         DifferenceKind = "balance_gap"
)

// DiffInTransit is not a difference: an item unmatched only because its two sides
// may book it on either side of midnight. It is stored (with the day it was first
// carried) so that the next days' runs look for it again, and becomes the
// difference it is when still unmatched after the carry days.
const DiffInTransit DifferenceKind = "in_transit"

// DifferenceKinds lists every kind of difference (in_transit is not one).
var DifferenceKinds = []DifferenceKind{
	DiffMissingOnOurSide, DiffMissingAtBank, DiffAmountMismatch, DiffCurrencyMismatch, DiffStatusMismatch,
	DiffNotBooked, DiffMalformed, DiffUnknownCurrency, DiffDuplicateReference, DiffBalanceGap,
}

// StoredKinds lists every kind a run stores: the differences and in_transit.
var StoredKinds = append(slices.Clone(DifferenceKinds), DiffInTransit)

// Valid reports whether k is a known kind (in_transit included).
func (k DifferenceKind) Valid() bool {
	return slices.Contains(StoredKinds, k)
}

// ReconciliationCounts sums up a run: how many statement lines and records it read,
// how many references matched, and how many differences of each kind it found.
type ReconciliationCounts struct {
	StatementLines     int64 `json:"statement_lines"`
	OurRecords         int64 `json:"our_records"`
	Matched            int64 `json:"matched"`
	MissingOnOurSide   int64 `json:"missing_on_our_side"`
	MissingAtBank      int64 `json:"missing_at_bank"`
	AmountMismatch     int64 `json:"amount_mismatch"`
	CurrencyMismatch   int64 `json:"currency_mismatch"`
	StatusMismatch     int64 `json:"status_mismatch"`
	NotBooked          int64 `json:"not_booked"`
	Malformed          int64 `json:"malformed"`
	UnknownCurrency    int64 `json:"unknown_currency"`
	DuplicateReference int64 `json:"duplicate_reference"`
	BalanceGap         int64 `json:"balance_gap"`
	// InTransit counts the items carried to the next day's run (not differences).
	InTransit int64 `json:"in_transit"`
}

// AddDifference counts one difference of kind k.
func (c *ReconciliationCounts) AddDifference(k DifferenceKind) {
	if p := c.field(k); p != nil {
		*p++
	}
}

// Of is the count of kind k.
func (c ReconciliationCounts) Of(k DifferenceKind) int64 {
	if p := c.field(k); p != nil {
		return *p
	}
	return 0
}

// SetDifferences sets the count of kind k (from a stored tally).
func (c *ReconciliationCounts) SetDifferences(k DifferenceKind, n int64) {
	if p := c.field(k); p != nil {
		*p = n
	}
}

func (c *ReconciliationCounts) field(k DifferenceKind) *int64 {
	switch k {
	case DiffMissingOnOurSide:
		return &c.MissingOnOurSide
	case DiffMissingAtBank:
		return &c.MissingAtBank
	case DiffAmountMismatch:
		return &c.AmountMismatch
	case DiffCurrencyMismatch:
		return &c.CurrencyMismatch
	case DiffStatusMismatch:
		return &c.StatusMismatch
	case DiffNotBooked:
		return &c.NotBooked
	case DiffBalanceGap:
		return &c.BalanceGap
	case DiffInTransit:
		return &c.InTransit
	case DiffMalformed:
		return &c.Malformed
	case DiffUnknownCurrency:
		return &c.UnknownCurrency
	case DiffDuplicateReference:
		return &c.DuplicateReference
	}
	return nil
}

// Plus returns the field-by-field sum of c and o.
func (c ReconciliationCounts) Plus(o ReconciliationCounts) ReconciliationCounts {
	return ReconciliationCounts{
		StatementLines:     c.StatementLines + o.StatementLines,
		OurRecords:         c.OurRecords + o.OurRecords,
		Matched:            c.Matched + o.Matched,
		MissingOnOurSide:   c.MissingOnOurSide + o.MissingOnOurSide,
		MissingAtBank:      c.MissingAtBank + o.MissingAtBank,
		AmountMismatch:     c.AmountMismatch + o.AmountMismatch,
		CurrencyMismatch:   c.CurrencyMismatch + o.CurrencyMismatch,
		StatusMismatch:     c.StatusMismatch + o.StatusMismatch,
		NotBooked:          c.NotBooked + o.NotBooked,
		Malformed:          c.Malformed + o.Malformed,
		UnknownCurrency:    c.UnknownCurrency + o.UnknownCurrency,
		DuplicateReference: c.DuplicateReference + o.DuplicateReference,
		BalanceGap:         c.BalanceGap + o.BalanceGap,
		InTransit:          c.InTransit + o.InTransit,
	}
}

// Differences is the number of differences of every kind (in_transit items are not
// differences).
func (c ReconciliationCounts) Differences() int64 {
	return c.MissingOnOurSide + c.MissingAtBank + c.AmountMismatch + c.CurrencyMismatch + c.StatusMismatch +
		c.NotBooked + c.Malformed + c.UnknownCurrency + c.DuplicateReference + c.BalanceGap
}

// Reconciliation is one run comparing a channel's statement of one UTC day with our
// bank transfer records. A rerun of the same day is a new Reconciliation (attempt 2,
// ...) and a new run of the same workflow id.
type Reconciliation struct {
	ID         string               `json:"id"`
	Object     string               `json:"object"`
	Channel    string               `json:"channel"`
	Date       string               `json:"date"`
	Attempt    int                  `json:"attempt"`
	Status     ReconciliationStatus `json:"status"`
	Counts     ReconciliationCounts `json:"counts"`
	Error      string               `json:"error,omitempty"`
	WorkflowID string               `json:"workflow_id"`
	CreatedAt  time.Time            `json:"created"`
	FinishedAt *time.Time           `json:"finished,omitempty"`
}

// DifferenceSide is one side's view of a reference: our intent (the object), the
// bank's line, or the ledger (Kind LedgerSideKind, Status LedgerBooked with the
// clearing amount it moved, or LedgerNotBooked).
// Currency is a plain string because a statement may carry a code we do not know.
type DifferenceSide struct {
	Kind     string `json:"kind"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
}

// The ledger's side of a difference: its kind, and whether the journals of the
// reference booked the channel's bank clearing account.
const (
	LedgerSideKind  = "journal"
	LedgerBooked    = "booked"
	LedgerNotBooked = "not_booked"
)

// Resolution is an operator's note closing the follow-up of a difference. It is a
// fact of its own, appended; the difference is never edited.
type Resolution struct {
	// Action is what the operator did: explained, retried, refunded or journal
	// (ResolutionActions).
	Action string `json:"action"`
	// ObjectID is what the action acted on: the refund (refunded), the journal
	// (journal) or the retried flow's workflow id (retried); empty for explained.
	ObjectID   string    `json:"object_id,omitempty"`
	Note       string    `json:"note"`
	Operator   string    `json:"operator"`
	ResolvedAt time.Time `json:"resolved"`
}

// Difference is one disagreement found by a run, and the follow-up an operator
// resolves. Line is the statement line (1 is the header) for kinds that come from a
// line; Raw is the unreadable line of a malformed one.
type Difference struct {
	ID               string          `json:"id"`
	Object           string          `json:"object"`
	ReconciliationID string          `json:"reconciliation_id"`
	Reference        string          `json:"reference"`
	Kind             DifferenceKind  `json:"kind"`
	Line             int64           `json:"line,omitempty"`
	Ours             *DifferenceSide `json:"ours"`
	Bank             *DifferenceSide `json:"bank"`
	Ledger           *DifferenceSide `json:"ledger"`
	// Since is, for an in_transit item and for the difference it becomes, the day
	// it was first carried.
	Since      string      `json:"since,omitempty"`
	Raw        string      `json:"raw,omitempty"`
	Resolution *Resolution `json:"resolution"`
	CreatedAt  time.Time   `json:"created"`
}

// ReconciliationInput starts the reconciliation workflow of one run.
type ReconciliationInput struct {
	ReconciliationID string `json:"reconciliation_id"`
	Channel          string `json:"channel"`
	Date             string `json:"date"`
}

// ReconciliationResult is how a run ended. Resumed and SkippedLines say whether the
// matching continued from a checkpoint of an earlier attempt, and how many sorted
// statement lines it skipped because that attempt had already classified them.
type ReconciliationResult struct {
	ReconciliationID string               `json:"reconciliation_id"`
	Status           ReconciliationStatus `json:"status"`
	Counts           ReconciliationCounts `json:"counts"`
	Resumed          bool                 `json:"resumed"`
	SkippedLines     int64                `json:"skipped_lines"`
}

// ReconciliationState answers the reconciliation workflow's state query.
type ReconciliationState struct {
	FlowState
	Date   string                `json:"date"`
	Counts *ReconciliationCounts `json:"counts,omitempty"`
}

// ScheduledReconciliationInput is what a channel's Temporal Schedule passes: the
// channel only. The day comes from the schedule's scheduled time.
type ScheduledReconciliationInput struct {
	Channel string `json:"channel"`
}

// ScheduledReconciliationResult names the run a scheduled action opened (or found).
type ScheduledReconciliationResult struct {
	ReconciliationID string `json:"reconciliation_id"`
	WorkflowID       string `json:"workflow_id"`
	Date             string `json:"date"`
	Created          bool   `json:"created"`
}

// OpenReconciliationInput asks for the run of a channel and day: the existing one, or
// a new one (which is then started).
type OpenReconciliationInput struct {
	Channel string `json:"channel"`
	Date    string `json:"date"`
	Rerun   bool   `json:"rerun"`
}

// OpenReconciliationResult is the run that was found or created.
type OpenReconciliationResult struct {
	ReconciliationID string               `json:"reconciliation_id"`
	Status           ReconciliationStatus `json:"status"`
	Created          bool                 `json:"created"`
}

// ReconcileStatementInput asks for the streaming comparison of one run.
type ReconcileStatementInput struct {
	ReconciliationID string `json:"reconciliation_id"`
	Channel          string `json:"channel"`
	Date             string `json:"date"`
}

// ReconcileStatementResult is the comparison's outcome (see ReconciliationResult for
// Resumed and SkippedLines).
type ReconcileStatementResult struct {
	Counts       ReconciliationCounts `json:"counts"`
	Resumed      bool                 `json:"resumed"`
	ResumedAfter string               `json:"resumed_after,omitempty"`
	SkippedLines int64                `json:"skipped_lines"`
}

// FinishReconciliationInput records the end of a run.
type FinishReconciliationInput struct {
	ReconciliationID string               `json:"reconciliation_id"`
	Status           ReconciliationStatus `json:"status"`
	Counts           ReconciliationCounts `json:"counts"`
	Error            string               `json:"error,omitempty"`
}

// FinishReconciliationResult says whether this call recorded the end (false: an
// earlier attempt had).
type FinishReconciliationResult struct {
	Recorded bool `json:"recorded"`
}

// Resolution actions: what an operator did about a difference.
const (
	// ResolutionExplained: nothing to move; the note says why (a bank's own
	// correction, a known timing difference).
	ResolutionExplained = "explained"
	// ResolutionRetried: the object's flow was retried (reset) and ended right.
	ResolutionRetried = "retried"
	// ResolutionRefunded: the money the bank moved was given back by a refund.
	ResolutionRefunded = "refunded"
	// ResolutionJournal: a correcting journal was booked through an approved ops
	// call.
	ResolutionJournal = "journal"
)

// ResolutionActions lists every action.
var ResolutionActions = []string{ResolutionExplained, ResolutionRetried, ResolutionRefunded, ResolutionJournal}
