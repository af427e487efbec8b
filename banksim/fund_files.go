package banksim

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
)

// The fund company's daily files, for payflow's reconciliation. A day's files
// exist once the day is over at the fund company (its clock offset included);
// before, 404 not_found. Every file is CSV with a header line:
//
//	confirmations.csv  order_id,kind,product_id,trade_date,status,nav,shares,amount,fee,reason
//	                   the orders the fund decided that day, status confirmed or rejected
//	                   (a redemption paid later still says confirmed), in the order decided
//	holdings.csv       product_id,shares
//	                   payflow's shares (hundredths) of every product at the day's end
//	income.csv         date,product_id,income_per_10k
//	                   prd_mmf's income per 10,000 units of the day, 1/10000 of a fen
//
// Units as everywhere: nav ten-thousandths, shares hundredths, amounts fen.

func (s *Server) fundRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /fund/calendar", s.fund(s.handleFundCalendar))
	mux.HandleFunc("GET /fund/v1/products", s.fund(s.handleFundProducts))
	mux.HandleFunc("GET /fund/v1/products/{id}/navs", s.fund(s.handleFundNAVs))
	mux.HandleFunc("GET /fund/v1/products/{id}/income", s.fund(s.handleFundIncome))
	mux.HandleFunc("POST /fund/v1/orders", s.fund(s.handlePlaceFundOrder))
	mux.HandleFunc("GET /fund/v1/orders/{order_id}", s.fund(s.handleGetFundOrder))
	mux.HandleFunc("GET /fund/v1/files/{date}/{file}", s.fund(s.handleFundFile))

	mux.HandleFunc("GET /sim/fund/clock", s.handleGetFundClock)
	mux.HandleFunc("POST /sim/fund/clock", s.handleSetFundClock)
	mux.HandleFunc("GET /sim/fund/faults", s.handleGetFundFaults)
	mux.HandleFunc("POST /sim/fund/faults", s.handleSetFundFaults)
}

func (s *Server) handleFundFile(w http.ResponseWriter, r *http.Request) {
	d, err := parseFundDate("date", r.PathValue("date"))
	if err != nil {
		writeInvalid(w, err)
		return
	}
	day := d.Format(dateLayout)
	if !d.Before(s.fundToday()) {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "the files of "+day+" are made when the day is over")
		return
	}
	var lines [][]string
	switch file := r.PathValue("file"); file {
	case "confirmations.csv":
		lines, err = s.confirmationLines(r, day)
	case "holdings.csv":
		lines = [][]string{{"product_id", "shares"}}
		for _, p := range fundProducts {
			held, herr := heldShares(r.Context(), s.db, p.ID, day)
			if herr != nil {
				err = herr
				break
			}
			lines = append(lines, []string{p.ID, strconv.FormatInt(held, 10)})
		}
	case "income.csv":
		lines = [][]string{{"date", "product_id", "income_per_10k"}}
		if !d.Before(navBase) {
			lines = append(lines, []string{day, ProductMMF, strconv.FormatInt(mmfIncome(d), 10)})
		}
	default:
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no file "+file+": confirmations.csv, holdings.csv or income.csv")
		return
	}
	if err != nil {
		writeInternal(w, s.log.WithField("day", day), err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.WriteAll(lines) // a write error is the client gone: nothing to answer
}

func (s *Server) confirmationLines(r *http.Request, day string) ([][]string, error) {
	rows, err := s.db.QueryContext(r.Context(), `SELECT order_id, kind, product_id, trade_date, status, nav, shares, amount, fee, reason
		FROM fund_orders WHERE confirm_date = ? ORDER BY decided_at, seq`, day)
	if err != nil {
		return nil, fmt.Errorf("list confirmations of %s: %w", day, err)
	}
	defer rows.Close()
	lines := [][]string{{"order_id", "kind", "product_id", "trade_date", "status", "nav", "shares", "amount", "fee", "reason"}}
	for rows.Next() {
		var id, kind, product, trade, status, reason string
		var nav, shares, amount, fee int64
		if err := rows.Scan(&id, &kind, &product, &trade, &status, &nav, &shares, &amount, &fee, &reason); err != nil {
			return nil, fmt.Errorf("scan confirmation: %w", err)
		}
		if status == FundPaid {
			status = FundConfirmed
		}
		lines = append(lines, []string{id, kind, product, trade, status, strconv.FormatInt(nav, 10),
			strconv.FormatInt(shares, 10), strconv.FormatInt(amount, 10), strconv.FormatInt(fee, 10), reason})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list confirmations of %s: %w", day, err)
	}
	return lines, nil
}
