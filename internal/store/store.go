package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/secretbox"
)

// Store is the API's and the activities' access to payflow's own rows (merchants,
// payments, idempotency keys, nonces, bank transfer records). The ledger's rows belong
// to internal/ledger.
type Store struct {
	db  *DB
	box *secretbox.Box
}

// New returns a Store over db; secrets are sealed with box.
func New(db *DB, box *secretbox.Box) *Store {
	return &Store{db: db, box: box}
}

// DB returns the underlying handle (for the health check and tests).
func (s *Store) DB() *DB { return s.db }

// modelRow is a table's row that answers as its model.
type modelRow[M any] interface{ model() M }

// takeModel reads the row q selects and answers its model; ErrNotFound. kind and id
// name the object in the error ("payment pay_…: not found").
func takeModel[R modelRow[M], M any](q *gorm.DB, kind, id string) (M, error) {
	var row R
	if err := q.Take(&row).Error; err != nil {
		var none M
		return none, fmt.Errorf("%s %s: %w", kind, id, translate(err))
	}
	return row.model(), nil
}

// pageModels reads up to limit of the rows q selects, in order, and answers their
// models and whether more follow (it reads one row more to know); what names the
// list in the error.
func pageModels[R modelRow[M], M any](q *gorm.DB, order string, limit int, what string) ([]M, bool, error) {
	var rows []R
	if err := q.Order(order).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("%s: %w", what, translate(err))
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return modelsOf(rows), more, nil
}

// insertRow adds row (a pointer to it) in tx; kind and id name it in the error.
func insertRow(tx *gorm.DB, row any, kind, id string) error {
	if err := tx.Create(row).Error; err != nil {
		return fmt.Errorf("insert %s %s: %w", kind, id, translate(err))
	}
	return nil
}

// modelsOf answers the models of rows, in their order.
func modelsOf[R modelRow[M], M any](rows []R) []M {
	out := make([]M, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out
}

// newestOfMerchant selects the merchant's rows of q's page, newest first (ids sort by
// creation time): older than q.StartingAfter and, when q.Status is set, in that
// status. what names the list in the error.
func newestOfMerchant[R modelRow[M], M any](ctx context.Context, db *DB, q ListQuery, what string) ([]M, bool, error) {
	tx := db.WithContext(ctx).Where("merchant_id = ?", q.MerchantID)
	if q.Status != "" {
		tx = tx.Where("status = ?", q.Status)
	}
	if q.StartingAfter != "" {
		tx = tx.Where("id < ?", q.StartingAfter)
	}
	return pageModels[R](tx, "id DESC", q.Limit, what)
}

// ofMerchant selects the row id of the merchant's (none of another merchant's: ids
// are never confirmed across merchants).
func (s *Store) ofMerchant(ctx context.Context, merchantID, id string) *gorm.DB {
	return s.db.WithContext(ctx).Where("id = ? AND merchant_id = ?", id, merchantID)
}
