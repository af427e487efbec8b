package store

import (
	"errors"
	"strings"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Errors of the database, the same on MySQL and SQLite. This file is the one place
// that reads the drivers' errors: the store, the ledger and the rate limits ask it.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("duplicate")
	// ErrConflict is a transaction that found a concurrent change (an optimistic
	// version check that failed, a key another transaction inserted first): Transact
	// runs it again.
	ErrConflict = errors.New("version conflict")
)

// MySQL error numbers after which the server has rolled the transaction back.
const (
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// translate maps gorm's errors to the store's sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case IsDuplicate(err):
		return ErrDuplicate
	}
	return err
}

// IsDuplicate reports a unique-key violation (gorm translates both drivers' codes,
// since the handle is opened with TranslateError).
func IsDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey) || errors.Is(err, ErrDuplicate)
}

// RolledBack reports a transaction that the database rolled back and that may run
// again as it is: a MySQL deadlock or lock wait timeout, or SQLite busy past its
// busy_timeout (another connection held the write lock).
func RolledBack(err error) bool {
	if err == nil {
		return false
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDeadlock || me.Number == mysqlLockWaitTimeout
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}
