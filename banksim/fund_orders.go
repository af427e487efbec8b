package banksim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// Fund order kinds and statuses.
const (
	FundSubscription = "subscription"
	FundRedemption   = "redemption"

	FundAccepted  = "accepted"
	FundConfirmed = "confirmed"
	FundRejected  = "rejected"
	FundPaid      = "paid"
)

// Reasons of a rejected fund order.
const (
	FundReasonRejected           = "rejected_by_fund"    // the reject fault
	FundReasonProductClosed      = "product_closed"      // the reject_product fault
	FundReasonInsufficientShares = "insufficient_shares" // a redemption of more than is held
)

// Types of the fund company's callbacks.
const (
	FundCallbackConfirmed = "fund_order.confirmed"
	FundCallbackRejected  = "fund_order.rejected"
	FundCallbackPaid      = "fund_order.paid"
)

// kindFundOrder counts fund orders in /sim/executions.
const kindFundOrder Kind = "fund_order"

// maxFundQuantity bounds an order's amount (fen) and shares (hundredths), so
// that amount*10000 and shares*nav (a NAV stays far below 1e6) stay inside int64.
const maxFundQuantity = 1_000_000_000_000 // 10,000,000,000.00

// FundOrder is every answer about a fund order. For a subscription, Amount is
// the money paid in (fen) and Shares the shares bought (hundredths) once
// confirmed; for a redemption, Shares is the shares sold and Amount the money
// paid out (fen, net of Fee) once confirmed. NAV is ten-thousandths.
type FundOrder struct {
	OrderID     string     `json:"order_id"`
	Kind        string     `json:"kind"`
	ProductID   string     `json:"product_id"`
	Status      string     `json:"status"`
	TradeDate   string     `json:"trade_date"`
	NAV         int64      `json:"nav"`
	Shares      int64      `json:"shares"`
	Amount      int64      `json:"amount"`
	Fee         int64      `json:"fee"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	PaidAt      *time.Time `json:"paid_at"`
	Reason      string     `json:"reason"`
}

// FundCallback is the body of a fund order's callback.
type FundCallback struct {
	Type    string    `json:"type"`
	EventID string    `json:"event_id"`
	Order   FundOrder `json:"order"`
}

// subscribe is a subscription's confirmation: fee in fen and shares in
// hundredths of amount fen at nav ten-thousandths. Fen and hundredths share a
// scale, so shares = (amount-fee) / (nav/10000), floored.
func subscribe(amount, feeBps, nav int64) (fee, shares int64) {
	fee = amount * feeBps / 10000
	return fee, (amount - fee) * 10000 / nav
}

// redeem is a redemption's confirmation: gross value, fee and net amount in
// fen of shares hundredths at nav ten-thousandths, each floored.
func redeem(shares, feeBps, nav int64) (gross, fee, amount int64) {
	gross = shares * nav / 10000
	fee = gross * feeBps / 10000
	return gross, fee, gross - fee
}

// FundFaults are the fund company's knobs (POST /sim/fund/faults). Like the
// bank's faults they live in memory; the bank's faults do not apply to the
// fund company, nor these to the bank.
type FundFaults struct {
	// Reject rejects every order placed while set (at confirmation time).
	Reject bool `json:"reject"`
	// RejectProduct rejects the orders of one product placed while set.
	RejectProduct string `json:"reject_product"`
	// ConfirmTwice sends the confirmation (or rejection) callback of orders
	// placed while set twice, with one event id; the order changes once.
	ConfirmTwice bool `json:"confirm_twice"`
	// Down answers every /fund/ request 503 bank_unavailable, executing nothing.
	Down bool `json:"down"`
	// ConfirmDelayMS is how long after its trade date's NAV exists an order is confirmed.
	ConfirmDelayMS int64 `json:"confirm_delay_ms"`
	// SettleDelayMS is how long after its confirmation a redemption is paid.
	SettleDelayMS int64 `json:"settle_delay_ms"`
}

// DefaultFundFaults: no faults, confirmation 5 s after the NAV, payment 3 s later.
func DefaultFundFaults() FundFaults {
	return FundFaults{ConfirmDelayMS: 5000, SettleDelayMS: 3000}
}

// FundFaults returns the fund company's faults in force.
func (s *Server) FundFaults() FundFaults { return *s.fundFaults.Load() }

// SetFundFaults replaces the fund company's faults.
func (s *Server) SetFundFaults(f FundFaults) error {
	if f.ConfirmDelayMS < 0 || f.SettleDelayMS < 0 {
		return errors.New("confirm_delay_ms and settle_delay_ms must not be negative")
	}
	if _, ok := findProduct(f.RejectProduct); f.RejectProduct != "" && !ok {
		return errors.New("reject_product is not a product")
	}
	s.fundFaults.Store(&f)
	return nil
}

type fundFaultsRequest struct {
	Reject         *bool   `json:"reject"`
	RejectProduct  *string `json:"reject_product"`
	ConfirmTwice   *bool   `json:"confirm_twice"`
	Down           *bool   `json:"down"`
	ConfirmDelayMS *int64  `json:"confirm_delay_ms"`
	SettleDelayMS  *int64  `json:"settle_delay_ms"`
}

func (s *Server) handleGetFundFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.FundFaults())
}

// handleSetFundFaults sets the given fields; the others take their defaults ({} resets).
func (s *Server) handleSetFundFaults(w http.ResponseWriter, r *http.Request) {
	var req fundFaultsRequest
	if err := decodeJSON(w, r, &req); err != nil && !errors.Is(err, errEmptyBody) {
		writeInvalid(w, err)
		return
	}
	f := DefaultFundFaults()
	setGiven(&f.Reject, req.Reject)
	setGiven(&f.RejectProduct, req.RejectProduct)
	setGiven(&f.ConfirmTwice, req.ConfirmTwice)
	setGiven(&f.Down, req.Down)
	setGiven(&f.ConfirmDelayMS, req.ConfirmDelayMS)
	setGiven(&f.SettleDelayMS, req.SettleDelayMS)
	if err := s.SetFundFaults(f); err != nil {
		writeInvalid(w, err)
		return
	}
	s.log.WithFields(logrus.Fields{"reject": f.Reject, "reject_product": f.RejectProduct, "confirm_twice": f.ConfirmTwice,
		"down": f.Down, "confirm_delay_ms": f.ConfirmDelayMS, "settle_delay_ms": f.SettleDelayMS}).Info("fund faults set")
	writeJSON(w, http.StatusOK, f)
}

// fund wraps a /fund/ handler with the fund company's down fault.
func (s *Server) fund(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.FundFaults().Down {
			writeUnavailable(w)
			return
		}
		h(w, r)
	}
}

// fundNow is the fund company's time: the simulator's clock moved by the
// clock offset, in Asia/Shanghai.
func (s *Server) fundNow() time.Time {
	return s.now().Add(time.Duration(s.fundOffset.Load()) * 24 * time.Hour).In(shanghai)
}

// fundToday is the fund company's civil date, as a UTC midnight like every
// parsed fund date.
func (s *Server) fundToday() time.Time {
	y, m, d := s.fundNow().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// loadFundClock reads the stored clock offset.
func (s *Server) loadFundClock(ctx context.Context) error {
	var off int64
	err := s.db.QueryRowContext(ctx, `SELECT offset_days FROM fund_clock WHERE id = 1`).Scan(&off)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read fund clock: %w", err)
	}
	s.fundOffset.Store(off)
	return nil
}

// FundClock is GET and POST /sim/fund/clock.
type FundClock struct {
	OffsetDays int64     `json:"offset_days"`
	Today      string    `json:"today"`
	Now        time.Time `json:"now"`
}

func (s *Server) fundClock() FundClock {
	return FundClock{OffsetDays: s.fundOffset.Load(), Today: s.fundToday().Format(dateLayout), Now: s.fundNow()}
}

func (s *Server) handleGetFundClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.fundClock())
}

// handleSetFundClock moves the fund company's today by offset_days from the
// real date; it is stored, so it survives a restart.
func (s *Server) handleSetFundClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OffsetDays *int64 `json:"offset_days"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if req.OffsetDays == nil || *req.OffsetDays < -3650 || *req.OffsetDays > 3650 {
		writeInvalid(w, errors.New("offset_days is required, between -3650 and 3650"))
		return
	}
	ctx := context.WithoutCancel(r.Context())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fund_clock (id, offset_days) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET offset_days = excluded.offset_days`, *req.OffsetDays)
		return err
	})
	if err != nil {
		writeInternal(w, s.log, fmt.Errorf("store fund clock: %w", err))
		return
	}
	s.fundOffset.Store(*req.OffsetDays)
	kick(s.wakeComplete) // NAVs may have appeared
	c := s.fundClock()
	s.log.WithFields(logrus.Fields{"offset_days": c.OffsetDays, "today": c.Today}).Info("fund clock set")
	writeJSON(w, http.StatusOK, c)
}

// fundOrderRequest is POST /fund/v1/orders.
type fundOrderRequest struct {
	OrderID     string `json:"order_id"`
	Kind        string `json:"kind"`
	ProductID   string `json:"product_id"`
	Amount      int64  `json:"amount"`
	Shares      int64  `json:"shares"`
	TradeDate   string `json:"trade_date"`
	CallbackURL string `json:"callback_url"`
}

func (q fundOrderRequest) validate() error {
	if err := firstError(validateReference("order_id", q.OrderID), validateCallbackURL(q.CallbackURL)); err != nil {
		return err
	}
	p, ok := findProduct(q.ProductID)
	if !ok {
		return errors.New("product_id is not a product")
	}
	switch q.Kind {
	case FundSubscription:
		switch {
		case q.Shares != 0:
			return errors.New("a subscription gives amount, not shares")
		case q.Amount < p.MinAmount || q.Amount > maxFundQuantity:
			return fmt.Errorf("amount must be between the product's min_amount %d and %d fen", p.MinAmount, int64(maxFundQuantity))
		}
	case FundRedemption:
		if q.Amount != 0 || q.Shares <= 0 || q.Shares > maxFundQuantity {
			return fmt.Errorf("a redemption gives shares (hundredths, 1 to %d), not amount", int64(maxFundQuantity))
		}
	default:
		return errors.New("kind must be subscription or redemption")
	}
	d, err := parseFundDate("trade_date", q.TradeDate)
	if err != nil {
		return err
	}
	if d.Before(navBase) || !isTradingDay(d) {
		return errors.New("trade_date must be a trading day (GET /fund/calendar) from " + navBase.Format(dateLayout))
	}
	return nil
}

// fundOrderRow is a stored order.
type fundOrderRow struct {
	FundOrder
	seq           int64
	callbackURL   string
	plannedReason string
	dup           bool
	confirmAt     sql.NullInt64
	payAt         sql.NullInt64
}

const fundOrderColumns = `seq, order_id, kind, product_id, status, trade_date, nav, shares, amount, fee,
	decided_at, paid_at, reason, callback_url, planned_reason, dup_callbacks, confirm_at, pay_at`

func getFundOrder(ctx context.Context, q querier, id string) (fundOrderRow, bool, error) {
	var o fundOrderRow
	var decided, paid sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT `+fundOrderColumns+` FROM fund_orders WHERE order_id = ?`, id).Scan(
		&o.seq, &o.OrderID, &o.Kind, &o.ProductID, &o.Status, &o.TradeDate, &o.NAV, &o.Shares, &o.Amount, &o.Fee,
		&decided, &paid, &o.Reason, &o.callbackURL, &o.plannedReason, &o.dup, &o.confirmAt, &o.payAt)
	if errors.Is(err, sql.ErrNoRows) {
		return fundOrderRow{}, false, nil
	}
	if err != nil {
		return fundOrderRow{}, false, fmt.Errorf("read fund order %s: %w", id, err)
	}
	if decided.Valid && o.Status != FundRejected {
		t := fromNanos(decided.Int64).UTC()
		o.ConfirmedAt = &t
	}
	if paid.Valid {
		t := fromNanos(paid.Int64).UTC()
		o.PaidAt = &t
	}
	return o, true, nil
}

func (s *Server) handlePlaceFundOrder(w http.ResponseWriter, r *http.Request) {
	var req fundOrderRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{"order_id": req.OrderID, "kind": req.Kind, "product_id": req.ProductID,
		"trade_date": req.TradeDate})
	ctx := context.WithoutCancel(r.Context())
	faults := s.FundFaults()
	var row fundOrderRow
	executed, conflict := false, false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		executed, conflict = false, false
		var found bool
		var err error
		if row, found, err = getFundOrder(ctx, tx, req.OrderID); err != nil {
			return err
		}
		if found {
			requested := row.Amount
			if row.Kind == FundRedemption {
				requested = row.Shares
			}
			asked := req.Amount
			if req.Kind == FundRedemption {
				asked = req.Shares
			}
			conflict = row.Kind != req.Kind || row.ProductID != req.ProductID || row.TradeDate != req.TradeDate || requested != asked
			return nil
		}
		now := s.now().UTC()
		planned := ""
		switch {
		case faults.Reject:
			planned = FundReasonRejected
		case faults.RejectProduct == req.ProductID:
			planned = FundReasonProductClosed
		}
		// The NAV of a past trade date exists already: confirmation is due
		// after the delay; otherwise the worker schedules it when it appears.
		var confirmAt sql.NullInt64
		if tradeDate, _ := time.Parse(dateLayout, req.TradeDate); tradeDate.Before(s.fundToday()) {
			confirmAt = sql.NullInt64{Int64: now.Add(time.Duration(faults.ConfirmDelayMS) * time.Millisecond).UnixNano(), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fund_orders (order_id, kind, product_id, status, trade_date, amount, shares,
			callback_url, planned_reason, dup_callbacks, created_at, confirm_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			req.OrderID, req.Kind, req.ProductID, FundAccepted, req.TradeDate, req.Amount, req.Shares, req.CallbackURL,
			planned, faults.ConfirmTwice, now.UnixNano(), confirmAt); err != nil {
			return fmt.Errorf("store fund order: %w", err)
		}
		row = fundOrderRow{FundOrder: FundOrder{OrderID: req.OrderID, Status: FundAccepted}}
		executed = true
		return insertExecution(ctx, tx, req.OrderID, kindFundOrder, now)
	})
	switch {
	case err != nil:
		writeInternal(w, log, fmt.Errorf("fund order %s: %w", req.OrderID, err))
		return
	case conflict:
		writeError(w, http.StatusConflict, ErrCodeReferenceConflict, "order_id was used for a different order")
		return
	}
	if executed {
		kick(s.wakeComplete)
		log.Info("fund order accepted")
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"order_id": row.OrderID, "status": row.Status})
}

func (s *Server) handleGetFundOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("order_id")
	if err := validateReference("order_id", id); err != nil {
		writeInvalid(w, err)
		return
	}
	row, found, err := getFundOrder(r.Context(), s.db, id)
	switch {
	case err != nil:
		writeInternal(w, s.log.WithField("order_id", id), err)
	case !found:
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no fund order with this order_id")
	default:
		writeJSON(w, http.StatusOK, row.FundOrder)
	}
}

// completeFundOrders schedules the confirmation of accepted orders whose
// trade date's NAV has appeared, confirms (or rejects) those due and pays the
// redemptions due.
func (s *Server) completeFundOrders(ctx context.Context) error {
	faults := s.FundFaults()
	today := s.fundToday().Format(dateLayout)
	// Read first: most passes find nothing, and need not take the write lock.
	var waiting int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM fund_orders
		WHERE status = 'accepted' AND confirm_at IS NULL AND trade_date < ?`, today).Scan(&waiting)
	if err != nil {
		return fmt.Errorf("find fund orders whose NAV appeared: %w", err)
	}
	if waiting > 0 {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE fund_orders SET confirm_at = ?
				WHERE status = 'accepted' AND confirm_at IS NULL AND trade_date < ?`,
				s.now().Add(time.Duration(faults.ConfirmDelayMS)*time.Millisecond).UnixNano(), today)
			return err
		})
		if err != nil {
			return fmt.Errorf("schedule fund confirmations: %w", err)
		}
	}
	for _, step := range []struct {
		query string
		do    func(context.Context, string) error
	}{
		{`SELECT order_id FROM fund_orders WHERE status = 'accepted' AND confirm_at <= ? ORDER BY confirm_at, seq LIMIT ?`, s.confirmFundOrder},
		{`SELECT order_id FROM fund_orders WHERE status = 'confirmed' AND pay_at <= ? ORDER BY pay_at, seq LIMIT ?`, s.payFundOrder},
	} {
		for {
			ids, err := s.listDue(ctx, step.query)
			if err != nil {
				return fmt.Errorf("list due fund orders: %w", err)
			}
			for _, id := range ids {
				if err := step.do(ctx, id); err != nil {
					return err
				}
			}
			if len(ids) < completeBatch {
				break
			}
		}
	}
	return nil
}

func (s *Server) listDue(ctx context.Context, query string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, s.now().UnixNano(), completeBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// heldShares is what payflow holds of a product: confirmed subscriptions less
// confirmed redemptions, those decided on or before day when day is not empty.
func heldShares(ctx context.Context, q querier, product, day string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE kind WHEN 'subscription' THEN shares ELSE -shares END), 0)
		FROM fund_orders WHERE product_id = ? AND status IN ('confirmed', 'paid') AND (? = '' OR confirm_date <= ?)`,
		product, day, day).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sum holdings of %s: %w", product, err)
	}
	return n, nil
}

// confirmFundOrder confirms or rejects an accepted order at its trade date's
// NAV and queues its callback, in one transaction.
func (s *Server) confirmFundOrder(ctx context.Context, id string) error {
	var done *fundOrderRow
	settle := time.Duration(s.FundFaults().SettleDelayMS) * time.Millisecond
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		done = nil
		o, found, err := getFundOrder(ctx, tx, id)
		if err != nil || !found || o.Status != FundAccepted {
			return err
		}
		p, _ := findProduct(o.ProductID)
		tradeDate, _ := time.Parse(dateLayout, o.TradeDate)
		nav, ok := p.navOn(tradeDate)
		if !ok {
			return fmt.Errorf("fund order %s: no NAV of %s on %s", id, o.ProductID, o.TradeDate)
		}
		now := s.now().UTC()
		var payAt sql.NullInt64
		o.Status, o.Reason = FundConfirmed, o.plannedReason
		if o.Reason == "" && o.Kind == FundRedemption {
			held, err := heldShares(ctx, tx, o.ProductID, "")
			if err != nil {
				return err
			}
			if held < o.Shares {
				o.Reason = FundReasonInsufficientShares
			}
		}
		switch {
		case o.Reason != "":
			o.Status = FundRejected
		case o.Kind == FundSubscription:
			o.NAV = nav
			o.Fee, o.Shares = subscribe(o.Amount, p.SubscriptionFeeBps, nav)
			o.ConfirmedAt = &now
		default:
			o.NAV = nav
			_, o.Fee, o.Amount = redeem(o.Shares, p.RedemptionFeeBps, nav)
			o.ConfirmedAt = &now
			payAt = sql.NullInt64{Int64: now.Add(settle).UnixNano(), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE fund_orders SET status = ?, reason = ?, nav = ?, fee = ?, shares = ?, amount = ?,
			decided_at = ?, confirm_date = ?, pay_at = ? WHERE order_id = ?`, o.Status, o.Reason, o.NAV, o.Fee, o.Shares, o.Amount,
			now.UnixNano(), s.fundToday().Format(dateLayout), payAt, id); err != nil {
			return fmt.Errorf("confirm fund order %s: %w", id, err)
		}
		typ := FundCallbackConfirmed
		if o.Status == FundRejected {
			typ = FundCallbackRejected
		}
		if err := s.enqueueFundCallback(ctx, tx, o, typ, o.dup); err != nil {
			return err
		}
		done = &o
		return nil
	})
	if err != nil {
		return err
	}
	if done != nil {
		kick(s.wakeDeliver)
		s.log.WithFields(logrus.Fields{"order_id": id, "kind": done.Kind, "product_id": done.ProductID, "status": done.Status,
			"reason": done.Reason, "nav": done.NAV, "shares": done.Shares, "amount": done.Amount, "fee": done.Fee}).
			Info("fund order decided")
	}
	return nil
}

// payFundOrder pays a confirmed redemption whose settlement is due.
func (s *Server) payFundOrder(ctx context.Context, id string) error {
	paid := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		paid = false
		o, found, err := getFundOrder(ctx, tx, id)
		if err != nil || !found || o.Status != FundConfirmed {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE fund_orders SET status = 'paid', paid_at = ?, pay_at = NULL WHERE order_id = ?`,
			now.UnixNano(), id); err != nil {
			return fmt.Errorf("pay fund order %s: %w", id, err)
		}
		o.Status, o.PaidAt = FundPaid, &now
		paid = true
		return s.enqueueFundCallback(ctx, tx, o, FundCallbackPaid, false)
	})
	if err != nil {
		return err
	}
	if paid {
		kick(s.wakeDeliver)
		s.log.WithField("order_id", id).Info("fund redemption paid")
	}
	return nil
}

// enqueueFundCallback queues a signed callback of the order when it has a
// callback URL; with dup the same event goes twice, the second after the first.
func (s *Server) enqueueFundCallback(ctx context.Context, tx *sql.Tx, o fundOrderRow, typ string, dup bool) error {
	if o.callbackURL == "" {
		return nil
	}
	eventID := newID("cbe_")
	body, err := json.Marshal(FundCallback{Type: typ, EventID: eventID, Order: o.FundOrder})
	if err != nil {
		return fmt.Errorf("encode fund callback: %w", err)
	}
	due := s.now().UnixNano()
	var after *int64
	for range 1 + btoi(dup) {
		res, err := tx.ExecContext(ctx, `INSERT INTO callbacks (event_id, reference, url, body, after_id, first_at, next_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, eventID, o.OrderID, o.callbackURL, body, after, due, due)
		if err != nil {
			return fmt.Errorf("enqueue fund callback of %s: %w", o.OrderID, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("enqueue fund callback of %s: %w", o.OrderID, err)
		}
		after = &id
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
