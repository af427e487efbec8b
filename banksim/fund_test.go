package banksim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func (e *testEnv) fundGet(path string, out any) {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, path, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, code, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		e.t.Fatalf("decode %s: %v", raw, err)
	}
}

func (e *testEnv) fundFaults(body map[string]any) {
	e.t.Helper()
	if code, raw := e.do(http.MethodPost, "/sim/fund/faults", body); code != http.StatusOK {
		e.t.Fatalf("fund faults: %d %s", code, raw)
	}
}

func (e *testEnv) fundClockOffset(days int) FundClock {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/sim/fund/clock", map[string]any{"offset_days": days})
	if code != http.StatusOK {
		e.t.Fatalf("fund clock: %d %s", code, raw)
	}
	return decodeAs[FundClock](e.t, raw)
}

func (e *testEnv) fundToday() time.Time {
	e.t.Helper()
	var c FundClock
	e.fundGet("/sim/fund/clock", &c)
	d, err := time.Parse(dateLayout, c.Today)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// placeOrder posts an order that must be accepted.
func (e *testEnv) placeOrder(body map[string]any) {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/fund/v1/orders", body)
	if code != http.StatusAccepted {
		e.t.Fatalf("order: %d %s", code, raw)
	}
	if got := decodeAs[map[string]string](e.t, raw); got["order_id"] != body["order_id"] || got["status"] == "" {
		e.t.Fatalf("order answer %s", raw)
	}
}

func (e *testEnv) fundOrder(id string) FundOrder {
	e.t.Helper()
	var o FundOrder
	e.fundGet("/fund/v1/orders/"+id, &o)
	return o
}

func (e *testEnv) awaitFundOrder(t *testing.T, id string, status string) FundOrder {
	t.Helper()
	var o FundOrder
	eventually(t, id+" "+status, func() bool {
		o = e.fundOrder(id)
		return o.Status == status
	})
	return o
}

func (e *testEnv) fundFile(day, file string) [][]string {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/fund/v1/files/"+day+"/"+file, nil)
	if code != http.StatusOK {
		e.t.Fatalf("file %s/%s: %d %s", day, file, code, raw)
	}
	lines, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		e.t.Fatalf("csv %s: %v", raw, err)
	}
	return lines
}

// lastTradingDayBefore is the latest trading day before d.
func lastTradingDayBefore(d time.Time) time.Time {
	for d = d.AddDate(0, 0, -1); !isTradingDay(d); d = d.AddDate(0, 0, -1) {
	}
	return d
}

func subscription(id, product string, amount int64, tradeDate time.Time, callback string) map[string]any {
	return map[string]any{"order_id": id, "kind": FundSubscription, "product_id": product, "amount": amount,
		"trade_date": tradeDate.Format(dateLayout), "callback_url": callback}
}

func redemption(id, product string, shares int64, tradeDate time.Time, callback string) map[string]any {
	return map[string]any{"order_id": id, "kind": FundRedemption, "product_id": product, "shares": shares,
		"trade_date": tradeDate.Format(dateLayout), "callback_url": callback}
}

func TestFundTradingDays(t *testing.T) {
	tests := []struct {
		day     string
		trading bool
	}{
		{"2026-12-07", true},  // a Monday
		{"2026-12-05", false}, // a Saturday
		{"2026-12-06", false}, // a Sunday
		{"2026-10-01", false}, // National Day
		{"2026-10-07", false}, // National Day, a Wednesday
		{"2026-10-08", true},
		{"2027-01-01", false},
		{"2027-02-08", false}, // Spring Festival, a Monday
		{"2027-02-12", true},
	}
	for _, tt := range tests {
		d, _ := time.Parse(dateLayout, tt.day)
		if got := isTradingDay(d); got != tt.trading {
			t.Errorf("%s trading = %v, want %v", tt.day, got, tt.trading)
		}
	}
}

func TestFundCalendar(t *testing.T) {
	e := newEnv(t, Config{})
	var c FundCalendar
	e.fundGet("/fund/calendar?from=2026-09-28&to=2026-10-12", &c)
	wantTrading := []string{"2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-12"}
	wantHolidays := []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"}
	if !reflect.DeepEqual(c.TradingDays, wantTrading) || !reflect.DeepEqual(c.Holidays, wantHolidays) {
		t.Fatalf("calendar %+v", c)
	}
	for _, q := range []string{"from=2026-10-02&to=2026-10-01", "from=2026-10-01", "from=2026-01-01&to=2027-06-01", "from=2026-1-1&to=2026-01-02"} {
		if code, raw := e.do(http.MethodGet, "/fund/calendar?"+q, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, code, raw)
		}
	}
}

func TestFundProductsAndNAVs(t *testing.T) {
	e := newEnv(t, Config{})
	today := e.fundToday()
	last := lastTradingDayBefore(today)
	var products []FundProduct
	e.fundGet("/fund/v1/products", &products)
	if len(products) != 3 {
		t.Fatalf("products %+v", products)
	}
	want := map[string]struct {
		kind string
		risk int
	}{ProductMMF: {FundMoneyMarket, 1}, ProductBond: {FundBond, 2}, ProductEquity: {FundEquity, 4}}
	for _, p := range products {
		w, ok := want[p.ID]
		if !ok || p.Kind != w.kind || p.RiskLevel != w.risk || p.Currency != "CNY" || p.Cutoff != "15:00" ||
			p.NAVDate != last.Format(dateLayout) || p.NAV <= 0 {
			t.Errorf("product %+v", p)
		}
		if p.ID == ProductMMF && p.NAV != 10000 {
			t.Errorf("money market NAV %d, want 10000", p.NAV)
		}
		if p.ID == ProductBond && (p.ConfirmDays != 1 || p.SettleDays != 2) {
			t.Errorf("bond T+%d/T+%d", p.ConfirmDays, p.SettleDays)
		}
	}

	// A month of NAVs: trading days only, the same from a second simulator.
	var navs, again []FundNAV
	e.fundGet("/fund/v1/products/prd_equity/navs?from=2026-09-21&to=2026-10-20", &navs)
	other := newEnv(t, Config{})
	other.fundGet("/fund/v1/products/prd_equity/navs?from=2026-09-21&to=2026-10-20", &again)
	if !reflect.DeepEqual(navs, again) {
		t.Fatalf("NAVs differ between simulators:\n%v\n%v", navs, again)
	}
	if len(navs) != 17 { // 2026-09-21..10-20 has 22 weekdays, 5 of them holidays
		t.Fatalf("%d NAVs: %v", len(navs), navs)
	}
	distinct := map[int64]bool{}
	for i, n := range navs {
		d, _ := time.Parse(dateLayout, n.Date)
		if !isTradingDay(d) {
			t.Errorf("a NAV on %s", n.Date)
		}
		if i > 0 {
			if step := n.NAV - navs[i-1].NAV; step < -150 || step > 150 {
				t.Errorf("%s moved %d", n.Date, step)
			}
		}
		distinct[n.NAV] = true
	}
	if len(distinct) < 5 {
		t.Errorf("the equity NAV barely moves: %v", navs)
	}
	// One day's NAV is the same alone as in a range.
	var one []FundNAV
	e.fundGet("/fund/v1/products/prd_equity/navs?from=2026-10-09&to=2026-10-09", &one)
	if len(one) != 1 || one[0] != navs[9] {
		t.Errorf("alone %v, in the range %v", one, navs[9])
	}

	// Nothing is published for today; moving the clock publishes it.
	day := today.Format(dateLayout)
	var none []FundNAV
	e.fundGet("/fund/v1/products/prd_bond/navs?from="+day+"&to="+day, &none)
	if len(none) != 0 {
		t.Fatalf("today's NAV before the day is over: %v", none)
	}
	var incomes []FundIncome
	e.fundGet("/fund/v1/products/prd_mmf/income?from="+day+"&to="+day, &incomes)
	if len(incomes) != 0 {
		t.Fatalf("today's income before the day is over: %v", incomes)
	}
	e.fundClockOffset(1)
	e.fundGet("/fund/v1/products/prd_mmf/income?from="+day+"&to="+day, &incomes)
	if len(incomes) != 1 {
		t.Fatalf("yesterday's income: %v", incomes)
	}
	if code, _ := e.do(http.MethodGet, "/fund/v1/products/prd_gold/navs?from=2026-10-09&to=2026-10-09", nil); code != http.StatusNotFound {
		t.Errorf("unknown product: %d", code)
	}
	if code, _ := e.do(http.MethodGet, "/fund/v1/products/prd_bond/income?from=2026-10-09&to=2026-10-09", nil); code != http.StatusNotFound {
		t.Errorf("bond income: %d", code)
	}
}

func TestFundMoneyMarketIncome(t *testing.T) {
	e := newEnv(t, Config{})
	var incomes []FundIncome
	e.fundGet("/fund/v1/products/prd_mmf/income?from=2026-10-01&to=2026-10-31", &incomes)
	if len(incomes) != 31 { // every calendar day, holidays and weekends included
		t.Fatalf("%d incomes", len(incomes))
	}
	distinct := map[int64]bool{}
	for _, in := range incomes {
		if in.IncomePer10k < 400_000 || in.IncomePer10k > 700_000 || in.IncomePer10k%100 != 0 {
			t.Errorf("%s: %d is not 0.4000-0.7000 CNY in 1/10000 fen", in.Date, in.IncomePer10k)
		}
		d, _ := time.Parse(dateLayout, in.Date)
		if in.IncomePer10k != mmfIncome(d) {
			t.Errorf("%s not deterministic", in.Date)
		}
		distinct[in.IncomePer10k] = true
	}
	if len(distinct) < 10 {
		t.Errorf("incomes barely vary: %v", incomes)
	}
}

func TestFundArithmetic(t *testing.T) {
	subs := []struct {
		name                string
		amount, bps, nav    int64
		wantFee, wantShares int64
	}{
		{"1000.00 CNY at 1.0000, no fee: 1000.00 shares", 100_000, 0, 10000, 0, 100_000},
		{"1000.00 CNY at 1.0234, 0.6%", 100_000, 60, 10234, 600, 97_127},          // 99400*10000/10234 = 97127.2
		{"10.00 CNY at 1.5000, 1.5%", 1_000, 150, 15000, 15, 656},                 // 985/1.5 = 656.67
		{"0.99 CNY, the fee floors to 0", 99, 60, 10000, 0, 99},                   // 99*60/10000 = 0.59
		{"12345.67 CNY at 0.9876, 1.5%", 1_234_567, 150, 9876, 18_518, 1_231_317}, // 1216049*10000/9876 = 1231317.8
		{"the largest amount", 1_000_000_000_000, 150, 10001, 15_000_000_000, 984_901_509_849},
	}
	for _, tt := range subs {
		fee, shares := subscribe(tt.amount, tt.bps, tt.nav)
		if fee != tt.wantFee || shares != tt.wantShares {
			t.Errorf("subscribe %s: fee %d shares %d, want %d %d", tt.name, fee, shares, tt.wantFee, tt.wantShares)
		}
	}
	reds := []struct {
		name                         string
		shares, bps, nav             int64
		wantGross, wantFee, wantPaid int64
	}{
		{"1000.00 shares at 1.0000, no fee", 100_000, 0, 10000, 100_000, 0, 100_000},
		{"971.27 shares at 1.0256, 0.1%", 97_127, 10, 10256, 99_613, 99, 99_514}, // 971.27*1.0256 = 996.13
		{"6.56 shares at 1.5321, 0.5%", 656, 50, 15321, 1_005, 5, 1_000},         // 6.56*1.5321 = 10.05
		{"0.01 share is worth nothing", 1, 50, 9999, 0, 0, 0},
		{"1234567.89 shares at 1.2345, 0.5%", 123_456_789, 50, 12345, 152_407_406, 762_037, 151_645_369},
		{"the largest redemption", 1_000_000_000_000, 10, 10001, 1_000_100_000_000, 1_000_100_000, 999_099_900_000},
	}
	for _, tt := range reds {
		gross, fee, paid := redeem(tt.shares, tt.bps, tt.nav)
		if gross != tt.wantGross || fee != tt.wantFee || paid != tt.wantPaid {
			t.Errorf("redeem %s: %d %d %d, want %d %d %d", tt.name, gross, fee, paid, tt.wantGross, tt.wantFee, tt.wantPaid)
		}
	}
}

// fundCallbacks decodes the fund callbacks rc received, checking each signature.
func fundCallbacks(t *testing.T, rc *receiver) []FundCallback {
	t.Helper()
	var out []FundCallback
	for _, cb := range rc.received() {
		if err := VerifyCallback(DefaultCallbackSecret, cb.signature, cb.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var body FundCallback
		if err := json.Unmarshal(cb.body, &body); err != nil {
			t.Fatalf("callback %s: %v", cb.body, err)
		}
		out = append(out, body)
	}
	return out
}

func TestFundOrderConfirmsAfterTheNAV(t *testing.T) {
	e := newEnv(t, Config{})
	const delay = 300 * time.Millisecond
	e.fundFaults(map[string]any{"confirm_delay_ms": delay.Milliseconds()})
	today := e.fundToday()
	trade := today
	for !isTradingDay(trade) {
		trade = trade.AddDate(0, 0, 1)
	}
	e.placeOrder(subscription("fo_timing", ProductBond, 200_000, trade, ""))
	time.Sleep(2 * delay)
	if o := e.fundOrder("fo_timing"); o.Status != FundAccepted || o.NAV != 0 || o.ConfirmedAt != nil {
		t.Fatalf("before the NAV: %+v", o)
	}
	// The day after the trade date: the NAV exists.
	offset := int(trade.Sub(today).Hours()/24) + 1
	if c := e.fundClockOffset(offset); c.Today != trade.AddDate(0, 0, 1).Format(dateLayout) {
		t.Fatalf("clock %+v", c)
	}
	moved := time.Now()
	o := e.awaitFundOrder(t, "fo_timing", FundConfirmed)
	if elapsed := time.Since(moved); elapsed < delay {
		t.Fatalf("confirmed %v after the NAV, want no sooner than %v", elapsed, delay)
	}
	var navs []FundNAV
	e.fundGet("/fund/v1/products/prd_bond/navs?from="+trade.Format(dateLayout)+"&to="+trade.Format(dateLayout), &navs)
	fee, shares := subscribe(200_000, 60, navs[0].NAV)
	if len(navs) != 1 || o.NAV != navs[0].NAV || o.Fee != fee || o.Shares != shares || o.Amount != 200_000 ||
		o.TradeDate != trade.Format(dateLayout) || o.ConfirmedAt == nil || o.PaidAt != nil {
		t.Fatalf("confirmed %+v, NAVs %v", o, navs)
	}
}

func TestFundSubscribeThenRedeem(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{})
	e.fundFaults(map[string]any{"confirm_delay_ms": 0, "settle_delay_ms": 200})
	today := e.fundToday()
	trade := lastTradingDayBefore(today)
	e.placeOrder(subscription("fo_sub", ProductMMF, 100_000, trade, rc.srv.URL))
	sub := e.awaitFundOrder(t, "fo_sub", FundConfirmed)
	if sub.NAV != 10000 || sub.Shares != 100_000 || sub.Fee != 0 || sub.Amount != 100_000 {
		t.Fatalf("1000.00 CNY of the money market fund: %+v", sub)
	}
	e.placeOrder(redemption("fo_red", ProductMMF, 40_000, trade, rc.srv.URL))
	red := e.awaitFundOrder(t, "fo_red", FundConfirmed)
	if red.Shares != 40_000 || red.Amount != 40_000 || red.Fee != 0 || red.PaidAt != nil {
		t.Fatalf("redemption confirmed: %+v", red)
	}
	paid := e.awaitFundOrder(t, "fo_red", FundPaid)
	if paid.PaidAt == nil || paid.PaidAt.Sub(*paid.ConfirmedAt) < 200*time.Millisecond {
		t.Fatalf("paid %+v, want 200ms after its confirmation", paid)
	}
	// More than is left is rejected at confirmation.
	e.placeOrder(redemption("fo_red_more", ProductMMF, 60_001, trade, ""))
	if o := e.awaitFundOrder(t, "fo_red_more", FundRejected); o.Reason != FundReasonInsufficientShares || o.Amount != 0 {
		t.Fatalf("over-redemption %+v", o)
	}

	eventually(t, "three callbacks", func() bool { return len(rc.received()) == 3 })
	var types []string
	for _, cb := range fundCallbacks(t, rc) {
		types = append(types, cb.Type+" "+cb.Order.OrderID+" "+cb.Order.Status)
	}
	want := []string{"fund_order.confirmed fo_sub confirmed", "fund_order.confirmed fo_red confirmed", "fund_order.paid fo_red paid"}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("callbacks %v, want %v", types, want)
	}

	// The day's files, once the day is over.
	day := today.Format(dateLayout)
	if code, _ := e.do(http.MethodGet, "/fund/v1/files/"+day+"/confirmations.csv", nil); code != http.StatusNotFound {
		t.Fatalf("today's file: %d, want 404", code)
	}
	e.fundClockOffset(1)
	td := trade.Format(dateLayout)
	if got, want := e.fundFile(day, "confirmations.csv"), [][]string{
		{"order_id", "kind", "product_id", "trade_date", "status", "nav", "shares", "amount", "fee", "reason"},
		{"fo_sub", "subscription", "prd_mmf", td, "confirmed", "10000", "100000", "100000", "0", ""},
		{"fo_red", "redemption", "prd_mmf", td, "confirmed", "10000", "40000", "40000", "0", ""},
		{"fo_red_more", "redemption", "prd_mmf", td, "rejected", "0", "60001", "0", "0", "insufficient_shares"},
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("confirmations.csv\n%v\nwant\n%v", got, want)
	}
	if got, want := e.fundFile(day, "holdings.csv"), [][]string{
		{"product_id", "shares"}, {"prd_mmf", "60000"}, {"prd_bond", "0"}, {"prd_equity", "0"},
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("holdings.csv %v", got)
	}
	if got := e.fundFile(trade.AddDate(0, 0, -1).Format(dateLayout), "holdings.csv"); got[1][1] != "0" {
		t.Fatalf("holdings the day before: %v", got)
	}
	if got, want := e.fundFile(day, "income.csv"), [][]string{
		{"date", "product_id", "income_per_10k"}, {day, "prd_mmf", fmt.Sprint(mmfIncome(today))},
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("income.csv %v", got)
	}
	if code, _ := e.do(http.MethodGet, "/fund/v1/files/"+day+"/other.csv", nil); code != http.StatusNotFound {
		t.Fatalf("unknown file: %d", code)
	}
}

func TestFundRejectFaults(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{})
	trade := lastTradingDayBefore(e.fundToday())
	e.fundFaults(map[string]any{"confirm_delay_ms": 0, "reject_product": ProductEquity})
	e.placeOrder(subscription("fo_eq", ProductEquity, 10_000, trade, rc.srv.URL))
	e.placeOrder(subscription("fo_bond", ProductBond, 100_000, trade, ""))
	e.fundFaults(map[string]any{"confirm_delay_ms": 0, "reject": true})
	e.placeOrder(subscription("fo_all", ProductMMF, 100, trade, ""))
	// The faults decide at placement: resetting them changes nothing placed.
	e.fundFaults(map[string]any{"confirm_delay_ms": 0})
	if o := e.awaitFundOrder(t, "fo_eq", FundRejected); o.Reason != FundReasonProductClosed || o.Shares != 0 || o.ConfirmedAt != nil {
		t.Fatalf("equity %+v", o)
	}
	if o := e.awaitFundOrder(t, "fo_all", FundRejected); o.Reason != FundReasonRejected {
		t.Fatalf("rejected %+v", o)
	}
	e.awaitFundOrder(t, "fo_bond", FundConfirmed)
	eventually(t, "the rejection callback", func() bool { return len(rc.received()) == 1 })
	if cb := fundCallbacks(t, rc)[0]; cb.Type != FundCallbackRejected || cb.Order.Status != FundRejected || cb.Order.Reason != FundReasonProductClosed {
		t.Fatalf("callback %+v", cb)
	}
	if code, raw := e.do(http.MethodPost, "/sim/fund/faults", map[string]any{"reject_product": "prd_gold"}); code != http.StatusBadRequest {
		t.Fatalf("unknown reject_product: %d %s", code, raw)
	}
}

func TestFundConfirmTwice(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{})
	e.fundFaults(map[string]any{"confirm_delay_ms": 0, "confirm_twice": true})
	e.placeOrder(subscription("fo_twice", ProductBond, 100_000, lastTradingDayBefore(e.fundToday()), rc.srv.URL))
	eventually(t, "two callbacks", func() bool { return len(rc.received()) == 2 })
	cbs := fundCallbacks(t, rc)
	if cbs[0].EventID != cbs[1].EventID || !reflect.DeepEqual(cbs[0], cbs[1]) || cbs[0].Type != FundCallbackConfirmed {
		t.Fatalf("callbacks %+v", cbs)
	}
	o := e.fundOrder("fo_twice")
	if o.Status != FundConfirmed || !reflect.DeepEqual(o, cbs[0].Order) {
		t.Fatalf("order %+v, callback %+v", o, cbs[0].Order)
	}
	if n := e.executions("fo_twice"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}

func TestFundOrdersAreIdempotent(t *testing.T) {
	e := newEnv(t, Config{})
	e.fundFaults(map[string]any{"confirm_delay_ms": 0})
	trade := lastTradingDayBefore(e.fundToday())
	body := subscription("fo_idem", ProductBond, 150_000, trade, "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, raw := e.do(http.MethodPost, "/fund/v1/orders", body)
			if code != http.StatusAccepted {
				t.Errorf("concurrent repeat: %d %s", code, raw)
			}
		}()
	}
	wg.Wait()
	first := e.awaitFundOrder(t, "fo_idem", FundConfirmed)
	code, raw := e.do(http.MethodPost, "/fund/v1/orders", body)
	if got := decodeAs[map[string]string](t, raw); code != http.StatusAccepted || got["status"] != FundConfirmed {
		t.Fatalf("repeat after confirmation: %d %s", code, raw)
	}
	if again := e.fundOrder("fo_idem"); !reflect.DeepEqual(again, first) {
		t.Fatalf("changed by a repeat: %+v", again)
	}
	for name, changed := range map[string]map[string]any{
		"amount":     subscription("fo_idem", ProductBond, 150_001, trade, ""),
		"product":    subscription("fo_idem", ProductEquity, 150_000, trade, ""),
		"trade date": subscription("fo_idem", ProductBond, 150_000, lastTradingDayBefore(trade), ""),
		"kind":       redemption("fo_idem", ProductBond, 150_000, trade, ""),
	} {
		if code, raw := e.do(http.MethodPost, "/fund/v1/orders", changed); code != http.StatusConflict {
			t.Errorf("other %s: %d %s, want 409", name, code, raw)
		}
	}
	if n := e.executions("fo_idem"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}

func TestFundOrderValidation(t *testing.T) {
	e := newEnv(t, Config{})
	sat, _ := time.Parse(dateLayout, "2026-12-05")
	holiday, _ := time.Parse(dateLayout, "2026-10-07") // a Wednesday
	monday, _ := time.Parse(dateLayout, "2026-12-07")
	for name, body := range map[string]any{
		"a Saturday":          subscription("fo_v1", ProductBond, 100_000, sat, ""),
		"a holiday":           subscription("fo_v2", ProductBond, 100_000, holiday, ""),
		"below min_amount":    subscription("fo_v3", ProductBond, 99_999, monday, ""),
		"unknown product":     subscription("fo_v4", "prd_gold", 100_000, monday, ""),
		"redemption of money": map[string]any{"order_id": "fo_v5", "kind": FundRedemption, "product_id": ProductBond, "amount": 100, "trade_date": "2026-12-07"},
		"subscription shares": map[string]any{"order_id": "fo_v6", "kind": FundSubscription, "product_id": ProductBond, "amount": 100_000, "shares": 1, "trade_date": "2026-12-07"},
		"no kind":             map[string]any{"order_id": "fo_v7", "product_id": ProductBond, "amount": 100_000, "trade_date": "2026-12-07"},
		"a float amount":      `{"order_id":"fo_v8","kind":"subscription","product_id":"prd_bond","amount":1000.5,"trade_date":"2026-12-07"}`,
		"a bad order id":      subscription("fo v9", ProductBond, 100_000, monday, ""),
		"a relative callback": subscription("fo_v10", ProductBond, 100_000, monday, "/cb"),
	} {
		if code, raw := e.do(http.MethodPost, "/fund/v1/orders", body); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, code, raw)
		}
	}
	if code, _ := e.do(http.MethodGet, "/fund/v1/orders/fo_never", nil); code != http.StatusNotFound {
		t.Errorf("unknown order: %d", code)
	}
}

func TestFundDown(t *testing.T) {
	e := newEnv(t, Config{})
	e.fundFaults(map[string]any{"down": true})
	trade := lastTradingDayBefore(e.fundToday())
	for _, path := range []string{"/fund/v1/products", "/fund/calendar?from=2026-10-01&to=2026-10-02", "/fund/v1/orders/fo_down"} {
		if code, _ := e.do(http.MethodGet, path, nil); code != http.StatusServiceUnavailable {
			t.Errorf("%s while down: %d", path, code)
		}
	}
	if code, _ := e.do(http.MethodPost, "/fund/v1/orders", subscription("fo_down", ProductMMF, 100, trade, "")); code != http.StatusServiceUnavailable {
		t.Fatalf("order while down: %d", code)
	}
	if n := e.executions("fo_down"); n != 0 {
		t.Fatalf("a refused order executed %d times", n)
	}
	// The bank is another company: it keeps working.
	e.decide(t, "/v1/charges", charge("pay_fund_down", TokenSuccess, 100), KindCharge, StatusSucceeded, "", 100)
	e.fundFaults(map[string]any{})
	e.placeOrder(subscription("fo_down", ProductMMF, 100, trade, ""))
}

func TestFundSurvivesRestart(t *testing.T) {
	rc := newReceiver(t)
	dbPath := filepath.Join(t.TempDir(), "banksim.db")
	cfg := Config{DBPath: dbPath, Logger: testLogger()}
	// A first server that never runs its worker: the order can only be
	// confirmed after the restart.
	first, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := newHTTP(t, first.Handler())
	e := &testEnv{t: t, srv: first, http: ts, dbPath: dbPath}
	today := e.fundToday()
	e.fundClockOffset(3)
	trade := lastTradingDayBefore(today.AddDate(0, 0, 3))
	e.fundFaults(map[string]any{"confirm_delay_ms": 50})
	e.placeOrder(subscription("fo_restart", ProductEquity, 500_000, trade, rc.srv.URL))
	ts.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	e = newEnv(t, cfg)
	if got := e.fundToday(); !got.Equal(today.AddDate(0, 0, 3)) {
		t.Fatalf("fund today after the restart %s, want the offset kept", got.Format(dateLayout))
	}
	o := e.awaitFundOrder(t, "fo_restart", FundConfirmed)
	p, _ := findProduct(ProductEquity)
	nav, _ := p.navOn(trade)
	if fee, shares := subscribe(500_000, 150, nav); o.NAV != nav || o.Fee != fee || o.Shares != shares {
		t.Fatalf("after restart %+v", o)
	}
	eventually(t, "the callback after the restart", func() bool { return len(rc.received()) == 1 })
	if n := e.executions("fo_restart"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}
