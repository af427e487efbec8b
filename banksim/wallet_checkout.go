package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// payTrade is the customer's confirmation in the app (the checkout's Pay
// button, POST /sim/wallet/pay): an open trade (WAIT_BUYER_PAY or
// USERPAYING) becomes paid; a paid one is answered unchanged; any other
// answers 409 trade_not_payable; an unknown trade number 404 not_found.
func (s *Server) payTrade(ctx context.Context, p walletProvider, tradeNo string) (walletAnswer, error) {
	ans, err := s.walletTx(ctx, func(tx *sql.Tx, now time.Time) (walletAnswer, error) {
		t, found, err := getTradeByNo(ctx, tx, p.name, tradeNo)
		switch {
		case err != nil:
			return walletAnswer{}, err
		case !found:
			return errAnswer(http.StatusNotFound, ErrCodeNotFound, "no trade number "+tradeNo+" at this provider"), nil
		case t.Status.paid():
			return walletAnswer{trade: &t.WalletTrade}, nil
		case !t.Status.open():
			a := errAnswer(http.StatusConflict, ErrCodeTradeNotPayable, "the trade is "+string(t.Status)+" and can no longer be paid")
			a.trade = &t.WalletTrade
			return a, nil
		}
		return walletAnswer{trade: &t.WalletTrade, event: "customer confirmed the trade"}, s.markPaid(ctx, tx, &t, now)
	})
	if err != nil {
		return walletAnswer{}, fmt.Errorf("pay %s trade %s: %w", p.name, tradeNo, err)
	}
	kick(s.wakeDeliver)
	return ans, nil
}

// adminPayRequest is POST /sim/wallet/pay.
type adminPayRequest struct {
	Provider string `json:"provider"`
	TradeNo  string `json:"trade_no"`
}

// handleAdminWalletPay does what the checkout's Pay button does, answering
// the trade as JSON (or the error of payTrade).
func (s *Server) handleAdminWalletPay(w http.ResponseWriter, r *http.Request) {
	var q adminPayRequest
	if err := decodeJSON(w, r, &q); err != nil {
		writeInvalid(w, err)
		return
	}
	p, ok := findProvider(q.Provider)
	if !ok {
		writeInvalid(w, fmt.Errorf("provider must be %q or %q", ProviderAlipay, ProviderWxpay))
		return
	}
	if err := validateReference("trade_no", q.TradeNo); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{"provider": p.name, "trade_no": q.TradeNo, "route": "admin_pay"})
	ans, err := s.payTrade(context.WithoutCancel(r.Context()), p, q.TradeNo)
	if err != nil {
		writeInternal(w, log, err)
		return
	}
	if ans.event != "" {
		log.Info(ans.event)
	}
	if ans.trade != nil {
		t := s.withCheckout(r, *ans.trade)
		ans.trade = &t
	}
	if ans.errCode != "" {
		writeJSON(w, ans.status, walletErrorBody{Error: ans.errCode, Message: ans.message, Trade: ans.trade})
		return
	}
	writeJSON(w, http.StatusOK, ans.trade)
}

// checkoutTemplate is the provider's checkout page: the trade and, while it
// can be paid, a Pay button (a POST form) that stands for the customer's
// confirmation in the app.
var checkoutTemplate = template.Must(template.New("checkout").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Provider}} checkout</title></head>
<body>
<h1>{{.Provider}} checkout</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{with .Trade}}<dl>
<dt>Order</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>
<dt>Trade</dt><dd id="trade_no">{{.TradeNo}}</dd>
<dt>Amount (minor units)</dt><dd id="amount">{{.Amount}} {{.Currency}}</dd>
<dt>Status</dt><dd id="status">{{.Status}}</dd>
</dl>{{end}}
{{if .Payable}}<form method="post" action="{{.Action}}"><button type="submit" id="pay">Pay</button></form>{{end}}
</body>
</html>
`))

type checkoutView struct {
	Provider string
	Trade    *WalletTrade
	Message  string
	Payable  bool
	Action   string
}

func (s *Server) renderCheckout(w http.ResponseWriter, log *logrus.Entry, status int, v checkoutView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := checkoutTemplate.Execute(w, v); err != nil {
		log.WithError(err).Warn("checkout page not written")
	}
}

// checkoutPage answers GET /{provider}/checkout/{trade_no}.
func (s *Server) checkoutPage(p walletProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tradeNo := r.PathValue("trade_no")
		log := s.log.WithFields(logrus.Fields{"provider": p.name, "trade_no": tradeNo, "route": "checkout"})
		t, found, err := getTradeByNo(r.Context(), s.db, p.name, tradeNo)
		switch {
		case err != nil:
			log.WithError(err).Error("checkout page failed")
			s.renderCheckout(w, log, http.StatusInternalServerError, checkoutView{Provider: p.name, Message: "Something went wrong; try again."})
			return
		case !found:
			s.renderCheckout(w, log, http.StatusNotFound, checkoutView{Provider: p.name, Message: "No such trade."})
			return
		}
		v := checkoutView{Provider: p.name, Trade: &t.WalletTrade, Payable: t.Status.open(), Action: r.URL.Path}
		switch {
		case t.Status.paid():
			v.Message = "Paid. You can return to the merchant."
		case !t.Status.open():
			v.Message = "This trade can no longer be paid."
		}
		s.renderCheckout(w, log, http.StatusOK, v)
	}
}

// checkoutPay answers the Pay button: the trade is paid and the browser is
// sent back to the checkout page (303), which then says so; a trade that can
// no longer be paid answers 409 with the page saying why.
func (s *Server) checkoutPay(p walletProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tradeNo := r.PathValue("trade_no")
		log := s.log.WithFields(logrus.Fields{"provider": p.name, "trade_no": tradeNo, "route": "checkout"})
		ans, err := s.payTrade(context.WithoutCancel(r.Context()), p, tradeNo)
		switch {
		case err != nil:
			log.WithError(err).Error("checkout payment failed")
			s.renderCheckout(w, log, http.StatusInternalServerError, checkoutView{Provider: p.name, Message: "Something went wrong; try again."})
		case ans.status == http.StatusNotFound:
			s.renderCheckout(w, log, http.StatusNotFound, checkoutView{Provider: p.name, Message: "No such trade."})
		case ans.errCode != "":
			log.WithField("status", ans.trade.Status).Info("checkout refused to pay a trade that can no longer be paid")
			s.renderCheckout(w, log, ans.status, checkoutView{Provider: p.name, Trade: ans.trade, Message: "This trade can no longer be paid."})
		default:
			if ans.event != "" {
				log.Info(ans.event)
			}
			http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
		}
	}
}
