package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// walletRoutes adds each provider's API, checkout page and the admin pay.
// The API routes are subject to the faults like the bank's channel API; the
// checkout page and the admin route are not.
func (s *Server) walletRoutes(mux *http.ServeMux) {
	for _, p := range walletProviders {
		base := "/" + p.name
		mux.HandleFunc("POST "+base+"/trades", s.channel(s.wallet(p, s.createTrade)))
		mux.HandleFunc("POST "+base+"/trades/pay", s.channel(s.wallet(p, s.payByCode)))
		mux.HandleFunc("GET "+base+"/trades/{out_trade_no}", s.channel(s.wallet(p, s.queryTrade)))
		mux.HandleFunc("POST "+base+"/trades/{out_trade_no}/cancel", s.channel(s.wallet(p, s.cancelTrade)))
		mux.HandleFunc("POST "+base+"/trades/{out_trade_no}/close", s.channel(s.wallet(p, s.closeTrade)))
		mux.HandleFunc("POST "+base+"/trades/{out_trade_no}/refund", s.channel(s.wallet(p, s.refundTrade)))
		mux.HandleFunc("GET "+base+"/refunds/{out_request_no}", s.channel(s.wallet(p, s.queryRefund)))
		mux.HandleFunc("GET "+base+"/checkout/{trade_no}", s.checkoutPage(p))
		mux.HandleFunc("POST "+base+"/checkout/{trade_no}", s.checkoutPay(p))
	}
	mux.HandleFunc("POST /sim/wallet/pay", s.handleAdminWalletPay)
}

// walletAnswer is what a wallet request did: an error (errCode), or a trade
// and/or a refund.
type walletAnswer struct {
	status  int // HTTP status of an error answer
	errCode string
	message string
	trade   *WalletTrade
	refund  *WalletRefund
	// hang holds the response and then answers 504 timeout (codes ending in 4).
	hang bool
	// event is what the request did, for the log ("" for a plain answer).
	event string
}

// walletErrorBody is every wallet error answer; trade is the trade's state
// where one is known (already_paid, trade_not_payable).
type walletErrorBody struct {
	Error   string       `json:"error"`
	Message string       `json:"message,omitempty"`
	Trade   *WalletTrade `json:"trade,omitempty"`
}

func errAnswer(status int, code, message string) walletAnswer {
	return walletAnswer{status: status, errCode: code, message: message}
}

// invalidRequest is a request error found before the transaction.
type invalidRequest struct{ error }

// walletHandler decodes and validates r, then runs its transaction. It
// returns invalidRequest for a request refused before anything ran.
type walletHandler func(ctx context.Context, p walletProvider, r *http.Request, w http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error)

// wallet adapts a walletHandler: the request runs even if the client goes
// away (as at a real provider), and the answer is written as JSON.
func (s *Server) wallet(p walletProvider, h walletHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		log := s.log.WithField("provider", p.name)
		ans, log, err := h(context.WithoutCancel(r.Context()), p, r, w, log)
		var invalid invalidRequest
		switch {
		case errors.As(err, &invalid):
			writeInvalid(w, invalid.error)
			return
		case err != nil:
			writeInternal(w, log, err)
			return
		}
		if ans.event != "" {
			kick(s.wakeComplete) // a confirmation may be due
			kick(s.wakeDeliver)  // a notification may be queued
		}
		if ans.trade != nil {
			t := s.withCheckout(r, *ans.trade)
			ans.trade = &t
			log = log.WithFields(logrus.Fields{"trade_no": t.TradeNo, "status": t.Status, "failure_code": t.FailureCode})
		}
		if ans.refund != nil {
			log = log.WithFields(logrus.Fields{"refund_id": ans.refund.RefundID, "refund_status": ans.refund.Status})
		}
		switch {
		case ans.event != "":
			log.Info(ans.event)
		case ans.errCode != "":
			log.WithField("error", ans.errCode).Info("wallet request refused")
		default:
			log.Debug("wallet request answered")
		}
		switch {
		case ans.errCode != "":
			writeJSON(w, ans.status, walletErrorBody{Error: ans.errCode, Message: ans.message, Trade: ans.trade})
		case ans.hang:
			s.hold(r.Context())
			log.Info("released the held response of a paid trade")
			writeError(w, http.StatusGatewayTimeout, ErrCodeTimeout,
				"the provider did not answer in time; query the trade to learn the outcome")
		case ans.refund != nil:
			writeJSON(w, http.StatusOK, ans.refund)
		default:
			writeJSON(w, http.StatusOK, ans.trade)
		}
	}
}

// walletTx runs fn in one write transaction at the simulator's time.
func (s *Server) walletTx(ctx context.Context, fn func(tx *sql.Tx, now time.Time) (walletAnswer, error)) (walletAnswer, error) {
	var ans walletAnswer
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ans, err = fn(tx, s.now().UTC())
		return err
	})
	if err != nil {
		return walletAnswer{}, err
	}
	return ans, nil
}

// tradeRequest is POST /{provider}/trades (a QR trade) and, with auth_code,
// POST /{provider}/trades/pay (a payment code).
type tradeRequest struct {
	OutTradeNo string `json:"out_trade_no"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	AuthCode   string `json:"auth_code"`
	NotifyURL  string `json:"notify_url"`
	Subject    string `json:"subject"`
}

func (q tradeRequest) validate(p walletProvider, code bool) error {
	var codeErr error
	if code {
		codeErr = required("auth_code", q.AuthCode)
		if codeErr == nil {
			codeErr = p.validateCode(q.AuthCode)
		}
	}
	var urlErr error
	if validateCallbackURL(q.NotifyURL) != nil {
		urlErr = errors.New("notify_url must be an absolute http or https URL")
	}
	return firstError(
		validateReference("out_trade_no", q.OutTradeNo),
		validateAmount(q.Amount),
		validateCurrency(q.Currency),
		codeErr,
		urlErr,
	)
}

func decodeTradeRequest(w http.ResponseWriter, r *http.Request, p walletProvider, code bool) (tradeRequest, error) {
	var q tradeRequest
	if err := decodeJSON(w, r, &q); err != nil {
		return q, invalidRequest{err}
	}
	if err := q.validate(p, code); err != nil {
		return q, invalidRequest{err}
	}
	return q, nil
}

// existingTrade answers a create or pay whose out_trade_no the provider
// knows: the trade itself when the request is the same, the tombstone of a
// cancel whatever the request, 409 reference_conflict otherwise.
func existingTrade(t tradeRow, q tradeRequest, mode string) walletAnswer {
	if t.tombstone() {
		return walletAnswer{trade: &t.WalletTrade}
	}
	if t.Mode != mode || t.Amount != q.Amount || t.Currency != q.Currency || t.AuthCode != q.AuthCode {
		return errAnswer(http.StatusConflict, ErrCodeReferenceConflict, "the out_trade_no was used for a different trade")
	}
	return walletAnswer{trade: &t.WalletTrade}
}

// createTrade answers POST /{provider}/trades: a trade the customer pays at
// its checkout page, idempotent by out_trade_no.
func (s *Server) createTrade(ctx context.Context, p walletProvider, r *http.Request, w http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	q, err := decodeTradeRequest(w, r, p, false)
	if err != nil {
		return walletAnswer{}, log, err
	}
	q.AuthCode = "" // a QR trade has no payment code
	log = log.WithFields(logrus.Fields{"out_trade_no": q.OutTradeNo, "amount": q.Amount, "currency": q.Currency, "mode": ModeQR})
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		t, found, err := getTrade(ctx, tx, p.name, q.OutTradeNo)
		if err != nil || found {
			return existingTrade(t, q, ModeQR), err
		}
		t = tradeRow{
			WalletTrade: WalletTrade{
				Provider: p.name, TradeNo: newID(p.tradePrefix), OutTradeNo: q.OutTradeNo, Mode: ModeQR,
				Amount: q.Amount, Currency: q.Currency, Status: TradeWaitBuyerPay, CreatedAt: now,
			},
			NotifyURL: q.NotifyURL,
		}
		if err := insertTrade(ctx, tx, t); err != nil {
			return walletAnswer{}, err
		}
		return walletAnswer{trade: &t.WalletTrade, event: "created trade"}, nil
	})
	return ans, log, wrapErr("create trade", q.OutTradeNo, err)
}

func wrapErr(op, ref string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, ref, err)
}

// payByCode answers POST /{provider}/trades/pay: the merchant scanned the
// customer's payment code. The code's last digit decides (see doc.go); each
// code is single use at the provider, whatever its outcome. A repeat of the
// same request answers the trade as it stands now.
func (s *Server) payByCode(ctx context.Context, p walletProvider, r *http.Request, w http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	q, err := decodeTradeRequest(w, r, p, true)
	if err != nil {
		return walletAnswer{}, log, err
	}
	log = log.WithFields(logrus.Fields{"out_trade_no": q.OutTradeNo, "amount": q.Amount, "currency": q.Currency,
		"mode": ModeCode, "code_digit": q.AuthCode[len(q.AuthCode)-1:]})
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		t, found, err := getTrade(ctx, tx, p.name, q.OutTradeNo)
		if err != nil || found {
			return existingTrade(t, q, ModeCode), err
		}
		t = tradeRow{
			WalletTrade: WalletTrade{
				Provider: p.name, TradeNo: newID(p.tradePrefix), OutTradeNo: q.OutTradeNo, Mode: ModeCode,
				Amount: q.Amount, Currency: q.Currency, Status: TradeUserPaying, CreatedAt: now,
			},
			AuthCode:  q.AuthCode,
			NotifyURL: q.NotifyURL,
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO wallet_codes (provider, code, out_trade_no, used_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider, code) DO NOTHING`, p.name, q.AuthCode, q.OutTradeNo, now.UnixNano())
		if err != nil {
			return walletAnswer{}, fmt.Errorf("record code: %w", err)
		}
		fresh, err := res.RowsAffected()
		if err != nil {
			return walletAnswer{}, fmt.Errorf("record code: %w", err)
		}
		ans := walletAnswer{trade: &t.WalletTrade}
		failure := ""
		digit := q.AuthCode[len(q.AuthCode)-1]
		switch {
		case fresh == 0:
			failure = FailureCodeUsed
		case digit == '1':
			at := now.Add(s.confirmDelay)
			t.ConfirmAt = &at
		case digit == '2':
			// USERPAYING until cancelled, closed or paid by the admin route.
		case digit == '3':
			failure = FailureInsufficientFunds
		case digit == '5':
			failure = FailureCodeExpired
		default: // 0, 4 and 6-9 pay at once; 4 then hangs
			ans.hang = digit == '4'
		}
		if failure != "" {
			t.Status, t.FailureCode, t.EndedAt = TradePayError, failure, &now
		}
		if err := insertTrade(ctx, tx, t); err != nil {
			return walletAnswer{}, err
		}
		switch {
		case failure != "":
			ans.event = "refused payment code"
			err = insertWalletLine(ctx, tx, p.name, t.OutTradeNo, KindCharge, t.Amount, t.Currency, StatusFailed, now)
		case digit == '1':
			ans.event = "payment code waits for the customer's confirmation"
		case digit == '2':
			ans.event = "payment code waits for a confirmation that never comes"
		default:
			ans.event = "paid by code"
			err = s.markPaid(ctx, tx, &t, now)
		}
		return ans, err
	})
	return ans, log, wrapErr("pay by code", q.OutTradeNo, err)
}

// tradeRef reads and checks the out_trade_no of the path.
func tradeRef(r *http.Request, log *logrus.Entry) (string, *logrus.Entry, error) {
	ref := r.PathValue("out_trade_no")
	if err := validateReference("out_trade_no", ref); err != nil {
		return "", log, invalidRequest{err}
	}
	return ref, log.WithField("out_trade_no", ref), nil
}

func tradeNotFound(ref string) walletAnswer {
	return errAnswer(http.StatusNotFound, ErrCodeNotFound, "no trade "+ref+" at this provider")
}

// queryTrade answers GET /{provider}/trades/{out_trade_no}: the trade, or
// 404 not_found when the provider has never seen it (sending it is safe).
func (s *Server) queryTrade(ctx context.Context, p walletProvider, r *http.Request, _ http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	ref, log, err := tradeRef(r, log)
	if err != nil {
		return walletAnswer{}, log, err
	}
	t, found, err := getTrade(ctx, s.db, p.name, ref)
	if err != nil || !found {
		return tradeNotFound(ref), log, err
	}
	return walletAnswer{trade: &t.WalletTrade}, log, nil
}

// cancelTrade answers POST /{provider}/trades/{out_trade_no}/cancel (trade.cancel,
// micropay's reverse): the trade becomes REVOKED for good.
//
//   - An unpaid trade (WAIT_BUYER_PAY, USERPAYING) is revoked: it can no
//     longer be paid.
//   - A paid trade (SUCCESS, REFUND) is revoked and what it still holds goes
//     back to the customer (reversed_amount; statement line rev_<out_trade_no>).
//   - An out_trade_no never seen gets a tombstone: a REVOKED trade without
//     mode or amount that answers every later create or pay of it.
//   - A final trade (CLOSED, REVOKED, PAYERROR) is answered unchanged.
//
// With the refuse_cancel fault, every case but the last answers 409
// not_cancelable and changes nothing.
func (s *Server) cancelTrade(ctx context.Context, p walletProvider, r *http.Request, _ http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	ref, log, err := tradeRef(r, log)
	if err != nil {
		return walletAnswer{}, log, err
	}
	refuse := s.Faults().RefuseCancel
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		t, found, err := getTrade(ctx, tx, p.name, ref)
		switch {
		case err != nil:
			return walletAnswer{}, err
		case found && !t.Status.open() && !t.Status.paid():
			return walletAnswer{trade: &t.WalletTrade}, nil
		case refuse:
			return errAnswer(http.StatusConflict, ErrCodeNotCancelable, "the provider cannot cancel this trade now"), nil
		case !found:
			t = tradeRow{WalletTrade: WalletTrade{
				Provider: p.name, TradeNo: newID(p.tradePrefix), OutTradeNo: ref, Status: TradeRevoked,
				CreatedAt: now, EndedAt: &now,
			}}
			return walletAnswer{trade: &t.WalletTrade, event: "cancelled an out_trade_no never seen; it is refused from now on"},
				insertTrade(ctx, tx, t)
		}
		event := "cancelled unpaid trade"
		if t.Status.paid() {
			event = "cancelled paid trade; the money went back"
			t.ReversedAmount = t.PaidAmount - t.RefundedAmount
			if t.ReversedAmount > 0 {
				rev := ReversalReference(t.OutTradeNo)
				if err := insertWalletLine(ctx, tx, p.name, rev, KindRefund, t.ReversedAmount, t.Currency, StatusSucceeded, now); err != nil {
					return walletAnswer{}, err
				}
				if err := insertExecution(ctx, tx, rev, KindRefund, now); err != nil {
					return walletAnswer{}, err
				}
			}
		}
		t.Status, t.EndedAt, t.ConfirmAt = TradeRevoked, &now, nil
		return walletAnswer{trade: &t.WalletTrade, event: event}, updateTrade(ctx, tx, t)
	})
	return ans, log, wrapErr("cancel trade", ref, err)
}

// closeTrade answers POST /{provider}/trades/{out_trade_no}/close: an unpaid
// trade becomes CLOSED; a paid one answers 409 already_paid (with the trade)
// and stays paid; a final one is answered unchanged; an unknown one 404.
func (s *Server) closeTrade(ctx context.Context, p walletProvider, r *http.Request, _ http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	ref, log, err := tradeRef(r, log)
	if err != nil {
		return walletAnswer{}, log, err
	}
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		t, found, err := getTrade(ctx, tx, p.name, ref)
		switch {
		case err != nil:
			return walletAnswer{}, err
		case !found:
			return tradeNotFound(ref), nil
		case t.Status.paid():
			a := errAnswer(http.StatusConflict, ErrCodeAlreadyPaid, "the trade is paid; cancel or refund it instead")
			a.trade = &t.WalletTrade
			return a, nil
		case !t.Status.open():
			return walletAnswer{trade: &t.WalletTrade}, nil
		}
		t.Status, t.EndedAt, t.ConfirmAt = TradeClosed, &now, nil
		return walletAnswer{trade: &t.WalletTrade, event: "closed trade"}, updateTrade(ctx, tx, t)
	})
	return ans, log, wrapErr("close trade", ref, err)
}

// walletRefundRequest is POST /{provider}/trades/{out_trade_no}/refund.
type walletRefundRequest struct {
	OutRequestNo string `json:"out_request_no"`
	Amount       int64  `json:"amount"`
	// Currency is optional: the trade's by default.
	Currency string `json:"currency"`
}

// refundTrade refunds part or all of a paid trade, idempotent by
// out_request_no: a repeat answers the first refund; the same out_request_no
// for another trade or amount answers 409 reference_conflict. A refund is
// SUCCESS, or FAILED with trade_not_paid, refund_exceeds_charge (above what
// the trade still holds) or currency_mismatch; both are final. An unknown
// trade answers 404 not_found and stores nothing.
func (s *Server) refundTrade(ctx context.Context, p walletProvider, r *http.Request, w http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	ref, log, err := tradeRef(r, log)
	if err != nil {
		return walletAnswer{}, log, err
	}
	var q walletRefundRequest
	if err := decodeJSON(w, r, &q); err != nil {
		return walletAnswer{}, log, invalidRequest{err}
	}
	var curErr error
	if q.Currency != "" {
		curErr = validateCurrency(q.Currency)
	}
	if err := firstError(validateReference("out_request_no", q.OutRequestNo), validateAmount(q.Amount), curErr); err != nil {
		return walletAnswer{}, log, invalidRequest{err}
	}
	log = log.WithFields(logrus.Fields{"out_request_no": q.OutRequestNo, "amount": q.Amount})
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		prev, found, err := getRefund(ctx, tx, p.name, q.OutRequestNo)
		if err != nil {
			return walletAnswer{}, err
		}
		if found {
			if prev.OutTradeNo != ref || prev.Amount != q.Amount || (q.Currency != "" && q.Currency != prev.Currency) {
				return errAnswer(http.StatusConflict, ErrCodeReferenceConflict, "the out_request_no was used for a different refund"), nil
			}
			return walletAnswer{refund: &prev}, nil
		}
		t, found, err := getTrade(ctx, tx, p.name, ref)
		if err != nil || !found {
			return tradeNotFound(ref), err
		}
		currency := q.Currency
		if currency == "" {
			currency = t.Currency
		}
		rf := WalletRefund{
			Provider: p.name, RefundID: newID(p.tradePrefix + "rf_"), OutRequestNo: q.OutRequestNo,
			OutTradeNo: ref, TradeNo: t.TradeNo, Amount: q.Amount, Currency: currency,
			Status: RefundSuccess, CreatedAt: now,
		}
		switch {
		case !t.Status.paid():
			rf.Status, rf.FailureCode = RefundFailed, FailureTradeNotPaid
		case currency != t.Currency:
			rf.Status, rf.FailureCode = RefundFailed, FailureCurrencyMismatch
		case q.Amount > t.PaidAmount-t.RefundedAmount:
			rf.Status, rf.FailureCode = RefundFailed, FailureRefundExceedsCharge
		}
		if err := insertRefund(ctx, tx, rf); err != nil {
			return walletAnswer{}, err
		}
		if rf.Status == RefundFailed {
			return walletAnswer{refund: &rf, event: "refused refund"},
				insertWalletLine(ctx, tx, p.name, rf.OutRequestNo, KindRefund, rf.Amount, rf.Currency, StatusFailed, now)
		}
		t.RefundedAmount += rf.Amount
		t.Status = TradeRefund
		if err := updateTrade(ctx, tx, t); err != nil {
			return walletAnswer{}, err
		}
		if err := insertWalletLine(ctx, tx, p.name, rf.OutRequestNo, KindRefund, rf.Amount, rf.Currency, StatusSucceeded, now); err != nil {
			return walletAnswer{}, err
		}
		if err := insertExecution(ctx, tx, rf.OutRequestNo, KindRefund, now); err != nil {
			return walletAnswer{}, err
		}
		nt := t.WalletTrade
		nt.CheckoutURL = checkoutURL(s.cfg.PublicURL, nt)
		err = s.notify(ctx, tx, p.name, t.NotifyURL, rf.OutRequestNo,
			WalletNotification{EventType: EventRefundSucceeded, Provider: p.name, Trade: &nt, Refund: &rf}, now)
		return walletAnswer{refund: &rf, event: "refunded"}, err
	})
	return ans, log, wrapErr("refund trade", ref, err)
}

// queryRefund answers GET /{provider}/refunds/{out_request_no}.
func (s *Server) queryRefund(ctx context.Context, p walletProvider, r *http.Request, _ http.ResponseWriter, log *logrus.Entry) (walletAnswer, *logrus.Entry, error) {
	ref := r.PathValue("out_request_no")
	if err := validateReference("out_request_no", ref); err != nil {
		return walletAnswer{}, log, invalidRequest{err}
	}
	log = log.WithField("out_request_no", ref)
	rf, found, err := getRefund(ctx, s.db, p.name, ref)
	if err != nil || !found {
		return errAnswer(http.StatusNotFound, ErrCodeNotFound, "no refund "+ref+" at this provider"), log, err
	}
	return walletAnswer{refund: &rf}, log, nil
}

const refundColumns = `provider, refund_id, out_request_no, out_trade_no, amount, currency, status, failure_code, created_at`

func getRefund(ctx context.Context, q querier, provider, outRequestNo string) (WalletRefund, bool, error) {
	var rf WalletRefund
	var created int64
	err := q.QueryRowContext(ctx, `SELECT r.provider, r.refund_id, r.out_request_no, r.out_trade_no, r.amount,
			r.currency, r.status, r.failure_code, r.created_at, COALESCE(t.trade_no, '')
		FROM wallet_refunds r
		LEFT JOIN wallet_trades t ON t.provider = r.provider AND t.out_trade_no = r.out_trade_no
		WHERE r.provider = ? AND r.out_request_no = ?`, provider, outRequestNo).
		Scan(&rf.Provider, &rf.RefundID, &rf.OutRequestNo, &rf.OutTradeNo, &rf.Amount, &rf.Currency, &rf.Status,
			&rf.FailureCode, &created, &rf.TradeNo)
	if errors.Is(err, sql.ErrNoRows) {
		return WalletRefund{}, false, nil
	}
	if err != nil {
		return WalletRefund{}, false, fmt.Errorf("get %s refund %s: %w", provider, outRequestNo, err)
	}
	rf.CreatedAt = fromNanos(created)
	return rf, true, nil
}

func insertRefund(ctx context.Context, tx *sql.Tx, rf WalletRefund) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_refunds (`+refundColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rf.Provider, rf.RefundID, rf.OutRequestNo, rf.OutTradeNo, rf.Amount, rf.Currency, rf.Status, rf.FailureCode,
		rf.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("insert %s refund %s: %w", rf.Provider, rf.OutRequestNo, err)
	}
	return nil
}
