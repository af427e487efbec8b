package recon

import (
	"time"

	"github.com/payflow/payflow/models"
)

// Expect is what our intent says the bank should have done with a reference.
type Expect uint8

// What an intent expects of the bank.
const (
	// ExpectMoved: the object succeeded (or was reversed after its charge
	// succeeded): the bank moved the money.
	ExpectMoved Expect = iota + 1
	// ExpectNotMoved: the object failed or was canceled, with no reversal: the bank
	// moved nothing.
	ExpectNotMoved
	// ExpectOpen: the object's flow has not decided (processing, pending approval):
	// the bank may have moved it or not, yet.
	ExpectOpen
)

// Intent is our object behind a reference: the payment, refund, top-up or
// withdrawal, or the reversal a payment's compensation ordered.
type Intent struct {
	// Kind is the object's kind: payment, refund, topup, withdrawal or reversal.
	Kind     string
	Amount   int64
	Currency string
	// Status is the object's status as its API shows it.
	Status string
	Expect Expect
	// Books says a success of this object books the channel's bank clearing
	// account (a reversal, and a payment whose charge was reversed, book nothing).
	Books bool
}

// Ledger is the ledger's side of a reference: what the journals of its object
// moved on bank clearing accounts.
type Ledger struct {
	Booked bool
	// Amount is the absolute clearing amount the journals moved.
	Amount   int64
	Currency string
}

// Carried is an item an earlier day's run left in transit: the day it was first
// carried, and the bank's line of that day if the bank had one.
type Carried struct {
	Since string
	Bank  *Line
}

// Record is our side of one reference: our intent (nil when we have no object),
// the ledger, and, for an item carried from an earlier day, what that day saw.
type Record struct {
	Reference string
	Intent    *Intent
	Ledger    Ledger
	Carried   *Carried
}

// verdict is how one reference ends: a difference kind (or in transit), or matched
// (kind "").
type verdict struct {
	kind  models.DifferenceKind
	since string
}

func (v verdict) matched() bool { return v.kind == "" }

// judge classifies one reference from its bank line (nil: the statement has none)
// and our record (nil: no object of ours, and nothing carried). day is the run's day;
// an item unmatched only because its sides may book it on either side of midnight is
// in transit until carryDays after the day it was first carried.
//
// The order of the checks is the order of what a finance team must see first: an
// object we do not have, then a bank that has nothing, then a different currency or
// amount, then a different outcome, then a ledger that did not book what moved.
func judge(b *Line, o *Record, day time.Time, carryDays int) verdict {
	if o != nil && b == nil && o.Carried != nil {
		b = o.Carried.Bank
	}
	var in *Intent
	if o != nil {
		in = o.Intent
	}
	switch {
	case b == nil && in == nil:
		// Our bank layer recorded an answer (or an earlier day carried it) for a
		// reference no object of ours has, and the bank's statement has none.
		return verdict{kind: models.DiffMissingAtBank}
	case in == nil:
		return verdict{kind: models.DiffMissingOnOurSide}
	case b == nil:
		switch in.Expect {
		case ExpectMoved:
			return transit(o, models.DiffMissingAtBank, day, carryDays)
		case ExpectOpen:
			return transit(o, models.DiffStatusMismatch, day, carryDays)
		}
		return ledgerVerdict(in, o.Ledger)
	case b.Currency != in.Currency:
		return verdict{kind: models.DiffCurrencyMismatch}
	case b.Amount != in.Amount:
		return verdict{kind: models.DiffAmountMismatch}
	}
	moved := b.Status == string(models.BankSucceeded)
	open := b.Status == string(models.BankProcessing)
	switch {
	case open || in.Expect == ExpectOpen:
		// One side (or both) has not decided yet: it may tomorrow.
		return transit(o, models.DiffStatusMismatch, day, carryDays)
	case moved != (in.Expect == ExpectMoved):
		return verdict{kind: models.DiffStatusMismatch}
	}
	return ledgerVerdict(in, o.Ledger)
}

// ledgerVerdict checks the ledger of a reference whose bank and intent agree: an
// object that moved money and books clearing has its journal for the amount; one
// that moved nothing (or books nothing) has none.
func ledgerVerdict(in *Intent, l Ledger) verdict {
	want := in.Expect == ExpectMoved && in.Books
	switch {
	case want != l.Booked:
		return verdict{kind: models.DiffNotBooked}
	case want && (l.Amount != in.Amount || l.Currency != in.Currency):
		return verdict{kind: models.DiffNotBooked}
	}
	return verdict{}
}

// transit is the verdict on an item unmatched only for now: in transit, carried to
// the next day's run, until carryDays after it was first carried; then the
// difference it is.
func transit(o *Record, kind models.DifferenceKind, day time.Time, carryDays int) verdict {
	since := day.Format(models.DayLayout)
	if o.Carried != nil && o.Carried.Since != "" {
		since = o.Carried.Since
	}
	first, err := models.ParseDay(since)
	if err != nil {
		first = day
	}
	if int(day.Sub(first)/(24*time.Hour)) >= carryDays {
		return verdict{kind: kind, since: since}
	}
	return verdict{kind: models.DiffInTransit, since: since}
}

// intentSide is our intent as a difference shows it.
func intentSide(in *Intent) *models.DifferenceSide {
	if in == nil {
		return nil
	}
	return &models.DifferenceSide{Kind: in.Kind, Amount: in.Amount, Currency: in.Currency, Status: in.Status}
}

// ledgerSide is the ledger as a difference shows it.
func ledgerSide(l Ledger) *models.DifferenceSide {
	if !l.Booked {
		return &models.DifferenceSide{Kind: models.LedgerSideKind, Status: models.LedgerNotBooked}
	}
	return &models.DifferenceSide{Kind: models.LedgerSideKind, Amount: l.Amount, Currency: l.Currency, Status: models.LedgerBooked}
}
