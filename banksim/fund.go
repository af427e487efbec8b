package banksim

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The fund company: a separate institution served under /fund/... It sells
// three products, publishes their NAVs per trading day (and the money market
// fund's income per calendar day), takes subscription and redemption orders
// and confirms them once the trade date's NAV exists.
//
// No float anywhere: NAVs are integer ten-thousandths (1.0234 = 10234),
// shares integer hundredths, money integer minor units (fen), and the money
// market income per 10,000 units integer 1/10000 of a fen (0.5123 CNY =
// 512300).

// Fund product ids.
const (
	ProductMMF    = "prd_mmf"
	ProductBond   = "prd_bond"
	ProductEquity = "prd_equity"
)

// Product kinds.
const (
	FundMoneyMarket = "money_market"
	FundBond        = "bond"
	FundEquity      = "equity"
)

// FundCutoff is the daily order cutoff, Asia/Shanghai time: an order placed
// later trades on the next trading day (payflow picks trade_date).
const FundCutoff = "15:00"

// shanghai is the fund company's time zone. A fixed offset, so that the
// simulator needs no tzdata (China has no daylight saving time).
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// dateLayout is every fund date: YYYY-MM-DD, a civil date in Asia/Shanghai.
const dateLayout = "2006-01-02"

// navBase is the first date with NAVs and incomes: nothing is published before.
var navBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// navEnd bounds the dates the fund answers about (a NAV is computed by walking
// from navBase).
var navEnd = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)

// fundHolidays are the simulator's market holidays (a few, not the official
// list): weekdays on which the fund company does not trade.
var fundHolidays = map[string]bool{}

func init() {
	for _, span := range [][2]string{
		{"2026-01-01", "2026-01-02"},
		{"2026-02-16", "2026-02-20"},
		{"2026-05-01", "2026-05-05"},
		{"2026-10-01", "2026-10-07"},
		{"2027-01-01", "2027-01-01"},
		{"2027-02-05", "2027-02-11"},
	} {
		from, _ := time.Parse(dateLayout, span[0])
		to, _ := time.Parse(dateLayout, span[1])
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			fundHolidays[d.Format(dateLayout)] = true
		}
	}
}

// FundProduct is a product as GET /fund/v1/products lists it. Amounts are fen,
// fees basis points, NAV ten-thousandths.
type FundProduct struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Kind               string `json:"kind"`
	RiskLevel          int    `json:"risk_level"`
	Currency           string `json:"currency"`
	MinAmount          int64  `json:"min_amount"`
	Cutoff             string `json:"cutoff"`
	ConfirmDays        int    `json:"confirm_days"`
	SettleDays         int    `json:"settle_days"`
	SubscriptionFeeBps int64  `json:"subscription_fee_bps"`
	RedemptionFeeBps   int64  `json:"redemption_fee_bps"`
	// NAV and NAVDate are the latest published NAV (empty before any).
	NAV     int64  `json:"nav"`
	NAVDate string `json:"nav_date"`
}

// fundProduct is a seeded product and its NAV walk.
type fundProduct struct {
	FundProduct
	baseNAV int64 // the NAV of navBase's first trading day
	// A trading day moves the NAV by a step in [stepMin, stepMax].
	stepMin, stepMax int64
}

var fundProducts = []fundProduct{
	{FundProduct: FundProduct{ID: ProductMMF, Name: "Payflow Money Market Fund", Kind: FundMoneyMarket, RiskLevel: 1,
		Currency: "CNY", MinAmount: 100, Cutoff: FundCutoff, ConfirmDays: 1, SettleDays: 1},
		baseNAV: 10000},
	{FundProduct: FundProduct{ID: ProductBond, Name: "Payflow Short Bond Fund", Kind: FundBond, RiskLevel: 2,
		Currency: "CNY", MinAmount: 100_000, Cutoff: FundCutoff, ConfirmDays: 1, SettleDays: 2,
		SubscriptionFeeBps: 60, RedemptionFeeBps: 10},
		baseNAV: 10234, stepMin: -3, stepMax: 5},
	{FundProduct: FundProduct{ID: ProductEquity, Name: "Payflow CSI 300 Equity Fund", Kind: FundEquity, RiskLevel: 4,
		Currency: "CNY", MinAmount: 1_000, Cutoff: FundCutoff, ConfirmDays: 1, SettleDays: 3,
		SubscriptionFeeBps: 150, RedemptionFeeBps: 50},
		baseNAV: 15000, stepMin: -150, stepMax: 150},
}

// navFloor keeps a random walk's NAV positive.
const navFloor = 1000

func findProduct(id string) (fundProduct, bool) {
	for _, p := range fundProducts {
		if p.ID == id {
			return p, true
		}
	}
	return fundProduct{}, false
}

// parseFundDate parses a YYYY-MM-DD date within the fund's range.
func parseFundDate(field, s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be a date YYYY-MM-DD", field)
	}
	if d.Before(navBase.AddDate(-1, 0, 0)) || d.After(navEnd) {
		return time.Time{}, fmt.Errorf("%s must be between %s and %s", field,
			navBase.AddDate(-1, 0, 0).Format(dateLayout), navEnd.Format(dateLayout))
	}
	return d, nil
}

// isTradingDay: a weekday that is not a holiday.
func isTradingDay(d time.Time) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !fundHolidays[d.Format(dateLayout)]
}

// dayHash is a deterministic number of a product (or "") and a date.
func dayHash(product string, d time.Time) uint64 {
	h := sha256.Sum256([]byte(product + "|" + d.Format(dateLayout)))
	return binary.BigEndian.Uint64(h[:8])
}

// navs returns the NAVs of p for every trading day in [from, to]: a walk from
// baseNAV over the trading days since navBase, each moved by a step derived
// from the product and the date, so the same day always has the same NAV.
func (p fundProduct) navs(from, to time.Time) []FundNAV {
	var out []FundNAV
	nav := p.baseNAV
	first := true
	for d := navBase; !d.After(to); d = d.AddDate(0, 0, 1) {
		if !isTradingDay(d) {
			continue
		}
		if !first && p.stepMax > p.stepMin {
			span := uint64(p.stepMax - p.stepMin + 1)
			nav = max(nav+p.stepMin+int64(dayHash(p.ID, d)%span), navFloor)
		}
		first = false
		if !d.Before(from) {
			out = append(out, FundNAV{Date: d.Format(dateLayout), NAV: nav})
		}
	}
	return out
}

// navOn is p's NAV of trading day d; false when d is no trading day or before navBase.
func (p fundProduct) navOn(d time.Time) (int64, bool) {
	n := p.navs(d, d)
	if len(n) != 1 {
		return 0, false
	}
	return n[0].NAV, true
}

// mmfIncome is the money market fund's income per 10,000 units of calendar
// day d, in 1/10000 of a fen: 0.4000 to 0.7000 CNY (400000 to 700000).
func mmfIncome(d time.Time) int64 {
	return 400_000 + int64(dayHash(ProductMMF+"/income", d)%3001)*100
}

// FundNAV is one published NAV (ten-thousandths).
type FundNAV struct {
	Date string `json:"date"`
	NAV  int64  `json:"nav"`
}

// FundIncome is the money market fund's income per 10,000 units of one
// calendar day, in 1/10000 of a fen (0.5123 CNY = 512300).
type FundIncome struct {
	Date         string `json:"date"`
	IncomePer10k int64  `json:"income_per_10k"`
}

// FundCalendar is GET /fund/calendar.
type FundCalendar struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	TradingDays []string `json:"trading_days"`
	Holidays    []string `json:"holidays"`
}

// maxFundRange bounds the days of one calendar, NAV or income query.
const maxFundRange = 366

// fundRange reads ?from=&to= (both required, from <= to, at most maxFundRange days).
func fundRange(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	if from, err = parseFundDate("from", q.Get("from")); err != nil {
		return
	}
	if to, err = parseFundDate("to", q.Get("to")); err != nil {
		return
	}
	switch {
	case to.Before(from):
		err = errors.New("to must not be before from")
	case to.Sub(from) >= maxFundRange*24*time.Hour:
		err = fmt.Errorf("a query spans at most %d days", maxFundRange)
	}
	return
}

func (s *Server) handleFundCalendar(w http.ResponseWriter, r *http.Request) {
	from, to, err := fundRange(r)
	if err != nil {
		writeInvalid(w, err)
		return
	}
	c := FundCalendar{From: from.Format(dateLayout), To: to.Format(dateLayout), TradingDays: []string{}, Holidays: []string{}}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		switch day := d.Format(dateLayout); {
		case fundHolidays[day]:
			c.Holidays = append(c.Holidays, day)
		case isTradingDay(d):
			c.TradingDays = append(c.TradingDays, day)
		}
	}
	writeJSON(w, http.StatusOK, c)
}

// published bounds a query to what the fund company has published: the NAV
// of a day, and the income of a day, appear when that day is over (the fund
// company's today, clock offset included).
func (s *Server) published(to time.Time) time.Time {
	if last := s.fundToday().AddDate(0, 0, -1); to.After(last) {
		return last
	}
	return to
}

func (s *Server) handleFundProducts(w http.ResponseWriter, r *http.Request) {
	last := s.published(navEnd)
	out := make([]FundProduct, 0, len(fundProducts))
	for _, p := range fundProducts {
		fp := p.FundProduct
		// The latest trading day within the last two weeks (holidays last at most 7 days).
		if n := p.navs(last.AddDate(0, 0, -14), last); len(n) > 0 {
			fp.NAV, fp.NAVDate = n[len(n)-1].NAV, n[len(n)-1].Date
		}
		out = append(out, fp)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleFundNAVs(w http.ResponseWriter, r *http.Request) {
	p, ok := findProduct(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no such product")
		return
	}
	from, to, err := fundRange(r)
	if err != nil {
		writeInvalid(w, err)
		return
	}
	navs := p.navs(from, s.published(to))
	if navs == nil {
		navs = []FundNAV{}
	}
	writeJSON(w, http.StatusOK, navs)
}

func (s *Server) handleFundIncome(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != ProductMMF {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "only "+ProductMMF+" publishes an income")
		return
	}
	from, to, err := fundRange(r)
	if err != nil {
		writeInvalid(w, err)
		return
	}
	out := []FundIncome{}
	if from.Before(navBase) {
		from = navBase
	}
	for d := from; !d.After(s.published(to)); d = d.AddDate(0, 0, 1) {
		out = append(out, FundIncome{Date: d.Format(dateLayout), IncomePer10k: mmfIncome(d)})
	}
	writeJSON(w, http.StatusOK, out)
}
