package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
)

// openingFloat is the house balance of a currency before its first movement:
// large enough that payouts never fail for lack of float.
const openingFloat int64 = 1_000_000_000_000_000

// moveHouse adds delta to the house balance of currency. ok is false (and
// nothing moves) when the balance would overflow int64; SQLite would
// otherwise silently turn it into a float.
func moveHouse(ctx context.Context, tx *sql.Tx, currency string, delta int64) (ok bool, err error) {
	var balance int64
	err = tx.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE currency = ?`, currency).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		balance = openingFloat
	} else if err != nil {
		return false, fmt.Errorf("read %s balance: %w", currency, err)
	}
	if (delta > 0 && balance > math.MaxInt64-delta) || (delta < 0 && balance < math.MinInt64-delta) {
		return false, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (currency, balance) VALUES (?, ?)
		ON CONFLICT (currency) DO UPDATE SET balance = excluded.balance`, currency, balance+delta)
	if err != nil {
		return false, fmt.Errorf("write %s balance: %w", currency, err)
	}
	return true, nil
}

// accountsResponse is GET /sim/accounts.
type accountsResponse struct {
	Balances map[string]int64 `json:"balances"`
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithField("route", "accounts")
	rows, err := s.db.QueryContext(r.Context(), `SELECT currency, balance FROM accounts`)
	if err != nil {
		writeInternal(w, log, fmt.Errorf("list accounts: %w", err))
		return
	}
	defer rows.Close()
	resp := accountsResponse{Balances: map[string]int64{}}
	for rows.Next() {
		var currency string
		var balance int64
		if err := rows.Scan(&currency, &balance); err != nil {
			writeInternal(w, log, fmt.Errorf("scan account: %w", err))
			return
		}
		resp.Balances[currency] = balance
	}
	if err := rows.Err(); err != nil {
		writeInternal(w, log, fmt.Errorf("list accounts: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
