package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/models"
)

// fundSharesKind is the ledger's kind of the fund company's share clearing
// accounts (ledger.KindFundShares; the ledger imports this package).
const fundSharesKind = "fund_shares"

// FundDayBounds is the UTC instant range of a fund company's date (a civil date
// in Asia/Shanghai): [start, end).
func FundDayBounds(day string) (start, end time.Time, err error) {
	d, err := models.ParseDay(day)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, models.Shanghai).UTC()
	return start, start.Add(24 * time.Hour), nil
}

// FundOrdersOfDay returns our side of the fund company's confirmations of a date
// (Asia/Shanghai), by order id: the orders our flows recorded the fund's decision
// of within that date (confirmed, paid later or not, by confirmed_at; failed by the
// fund's rejection, by updated_at), and the orders still processing that the fund
// company was due to confirm that date.
func (s *Store) FundOrdersOfDay(ctx context.Context, day string) ([]models.FundOrder, error) {
	start, end, err := FundDayBounds(day)
	if err != nil {
		return nil, err
	}
	var rows []fundOrderRow
	err = s.db.WithContext(ctx).
		Where("status IN ? AND confirmed_at >= ? AND confirmed_at < ?",
			[]string{string(models.FundOrderConfirmed), string(models.FundOrderPaid)}, start, end).
		Or("status = ? AND failure_code = ? AND updated_at >= ? AND updated_at < ?",
			string(models.FundOrderFailed), string(models.FailureRejectedByFund), start, end).
		Or("status = ? AND expected_confirm_date = ?", string(models.FundOrderProcessing), day).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("fund orders of %s: %w", day, err)
	}
	out := make([]models.FundOrder, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// FundOrdersByID returns the fund orders of ids that exist, by id.
func (s *Store) FundOrdersByID(ctx context.Context, ids []string) (map[string]models.FundOrder, error) {
	out := make(map[string]models.FundOrder, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var rows []fundOrderRow
		if err := s.db.WithContext(ctx).Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("fund orders by id: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.model()
		}
	}
	return out, nil
}

// FundSharesHeld returns, per product, the shares (hundredths) our wallets held at
// the instant at, from the entries of the fund company's share clearing accounts
// appended before it: each account carries the negative of what the wallets hold.
// Products without an entry are left out.
func (s *Store) FundSharesHeld(ctx context.Context, at time.Time) (map[string]int64, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT a.currency, SUM(e.amount) FROM accounts a
		JOIN entries e ON e.account_id = a.id AND e.created_at < ?
		WHERE a.kind = ? GROUP BY a.currency`, at.UTC(), fundSharesKind).Rows()
	if err != nil {
		return nil, fmt.Errorf("fund shares held at %s: %w", at.Format(time.RFC3339), err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var asset string
		var sum int64
		if err := rows.Scan(&asset, &sum); err != nil {
			return nil, fmt.Errorf("scan fund shares: %w", err)
		}
		if p, ok := models.Currency(asset).ShareProduct(); ok {
			out[p] = -sum
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fund shares held: %w", err)
	}
	return out, nil
}

type fundListingRow struct {
	OrderID   string `gorm:"primaryKey"`
	Day       string
	CreatedAt time.Time
}

func (fundListingRow) TableName() string { return "fund_listings" }

// RecordFundListings records that the confirmations file of day lists ids. The
// first file that listed an order keeps it: a rerun, or a later file listing it
// again, changes nothing.
func (s *Store) RecordFundListings(ctx context.Context, day string, ids []string) error {
	now := time.Now().UTC()
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows := make([]fundListingRow, len(chunk))
		for i, id := range chunk {
			rows[i] = fundListingRow{OrderID: id, Day: day, CreatedAt: now}
		}
		if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return fmt.Errorf("record fund listings of %s: %w", day, err)
		}
	}
	return nil
}

// FundListedElsewhere answers which of ids a confirmations file of another date
// than day listed first.
func (s *Store) FundListedElsewhere(ctx context.Context, day string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var rows []fundListingRow
		if err := s.db.WithContext(ctx).Where("order_id IN ? AND day <> ?", chunk, day).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("fund listings: %w", err)
		}
		for _, r := range rows {
			out[r.OrderID] = true
		}
	}
	return out, nil
}
