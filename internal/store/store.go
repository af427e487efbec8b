package store

import (
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
