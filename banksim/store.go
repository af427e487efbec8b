package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	// The pure-Go SQLite driver, registered as "sqlite". payflow's gorm side
	// wraps the same driver, so both can live in one binary.
	_ "github.com/glebarez/go-sqlite"
)

// migrations are applied in order; PRAGMA user_version records how many ran.
// Append only: a released migration is never edited.
var migrations = []string{
	`CREATE TABLE transfers (
		seq               INTEGER PRIMARY KEY AUTOINCREMENT,
		reference         TEXT    NOT NULL UNIQUE,
		kind              TEXT    NOT NULL,
		amount            INTEGER NOT NULL,
		currency          TEXT    NOT NULL,
		status            TEXT    NOT NULL,
		failure_code      TEXT    NOT NULL DEFAULT '',
		bank_id           TEXT    NOT NULL UNIQUE,
		charge_reference  TEXT    NOT NULL DEFAULT '',
		callback_url      TEXT    NOT NULL DEFAULT '',
		created_at        INTEGER NOT NULL,
		completed_at      INTEGER,
		complete_at       INTEGER,
		callback_delay_ms INTEGER NOT NULL DEFAULT 0,
		dup_callbacks     INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX transfers_due ON transfers (status, complete_at);
	CREATE INDEX transfers_charge ON transfers (charge_reference) WHERE charge_reference <> '';

	-- No unique constraint on reference on purpose: the count is the check
	-- that the lookup-first logic never executes a reference twice.
	CREATE TABLE executions (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		reference   TEXT    NOT NULL,
		kind        TEXT    NOT NULL,
		executed_at INTEGER NOT NULL
	);
	CREATE INDEX executions_reference ON executions (reference);

	-- Requests refused before processing (tok_flaky), counted per reference.
	CREATE TABLE attempts (
		reference TEXT    PRIMARY KEY,
		count     INTEGER NOT NULL
	);

	CREATE TABLE accounts (
		currency TEXT    PRIMARY KEY,
		balance  INTEGER NOT NULL
	);

	CREATE TABLE callbacks (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		event_id   TEXT    NOT NULL,
		reference  TEXT    NOT NULL,
		url        TEXT    NOT NULL,
		body       BLOB    NOT NULL,
		after_id   INTEGER,
		state      TEXT    NOT NULL DEFAULT 'pending',
		attempts   INTEGER NOT NULL DEFAULT 0,
		first_at   INTEGER NOT NULL,
		next_at    INTEGER NOT NULL,
		last_error TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX callbacks_due ON callbacks (state, next_at);

	-- Amounts are TEXT so that injected lines keep malformed values verbatim.
	CREATE TABLE statement_lines (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		day       TEXT    NOT NULL,
		reference TEXT    NOT NULL,
		kind      TEXT    NOT NULL,
		amount    TEXT    NOT NULL,
		currency  TEXT    NOT NULL,
		status    TEXT    NOT NULL,
		time      TEXT    NOT NULL,
		injected  INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX statement_lines_day ON statement_lines (day, id);

	-- How the statement misreports executed references (planted by tests).
	CREATE TABLE statement_alterations (
		reference TEXT    PRIMARY KEY,
		amount    INTEGER,
		status    TEXT,
		removed   INTEGER NOT NULL DEFAULT 0
	);`,
	`-- Bookings on our balance that no statement line explains (planted by tests).
	CREATE TABLE balance_adjustments (
		id       INTEGER PRIMARY KEY AUTOINCREMENT,
		day      TEXT    NOT NULL,
		currency TEXT    NOT NULL,
		amount   INTEGER NOT NULL
	);
	CREATE INDEX balance_adjustments_day ON balance_adjustments (day);`,
	`-- The wallet providers (alipaysim, wxpaysim): their trades, the payment codes
	-- they have seen and their refunds. A statement line and a callback name the
	-- channel they belong to: '' is the bank's own.
	CREATE TABLE wallet_trades (
		seq             INTEGER PRIMARY KEY AUTOINCREMENT,
		provider        TEXT    NOT NULL,
		out_trade_no    TEXT    NOT NULL,
		trade_no        TEXT    NOT NULL UNIQUE,
		mode            TEXT    NOT NULL,
		amount          INTEGER NOT NULL,
		currency        TEXT    NOT NULL,
		auth_code       TEXT    NOT NULL DEFAULT '',
		status          TEXT    NOT NULL,
		failure_code    TEXT    NOT NULL DEFAULT '',
		paid_amount     INTEGER NOT NULL DEFAULT 0,
		refunded_amount INTEGER NOT NULL DEFAULT 0,
		reversed_amount INTEGER NOT NULL DEFAULT 0,
		notify_url      TEXT    NOT NULL DEFAULT '',
		created_at      INTEGER NOT NULL,
		paid_at         INTEGER,
		ended_at        INTEGER,
		confirm_at      INTEGER,
		UNIQUE (provider, out_trade_no)
	);
	CREATE INDEX wallet_trades_confirm ON wallet_trades (status, confirm_at);

	-- Every payment code a provider was shown: each is single use.
	CREATE TABLE wallet_codes (
		provider     TEXT    NOT NULL,
		code         TEXT    NOT NULL,
		out_trade_no TEXT    NOT NULL,
		used_at      INTEGER NOT NULL,
		PRIMARY KEY (provider, code)
	);

	CREATE TABLE wallet_refunds (
		seq            INTEGER PRIMARY KEY AUTOINCREMENT,
		provider       TEXT    NOT NULL,
		out_request_no TEXT    NOT NULL,
		out_trade_no   TEXT    NOT NULL,
		refund_id      TEXT    NOT NULL UNIQUE,
		amount         INTEGER NOT NULL,
		currency       TEXT    NOT NULL,
		status         TEXT    NOT NULL,
		failure_code   TEXT    NOT NULL DEFAULT '',
		created_at     INTEGER NOT NULL,
		UNIQUE (provider, out_request_no)
	);

	ALTER TABLE statement_lines ADD COLUMN channel TEXT NOT NULL DEFAULT '';
	ALTER TABLE callbacks ADD COLUMN channel TEXT NOT NULL DEFAULT '';`,
	`-- The identity services: the cardholder directory (seeded by seedCardholders),
	-- verifications and card bindings by request id, the SMS codes the bank sent
	-- and the credit bureau's queries.
	CREATE TABLE cardholders (
		card_number TEXT PRIMARY KEY,
		name        TEXT NOT NULL,
		id_number   TEXT NOT NULL,
		phone       TEXT NOT NULL,
		bank        TEXT NOT NULL,
		card_type   TEXT NOT NULL
	);

	-- A verification's answer, kept verbatim so that a repeat answers it again.
	CREATE TABLE verifications (
		request_id TEXT    PRIMARY KEY,
		answer     BLOB    NOT NULL,
		created_at INTEGER NOT NULL
	);

	CREATE TABLE card_bindings (
		request_id   TEXT    PRIMARY KEY,
		card_number  TEXT    NOT NULL,
		phone        TEXT    NOT NULL,
		status       TEXT    NOT NULL,
		reason       TEXT    NOT NULL DEFAULT '',
		mismatched   TEXT    NOT NULL DEFAULT '[]',
		otp          TEXT    NOT NULL DEFAULT '',
		otp_sent_at  INTEGER,
		otp_attempts INTEGER NOT NULL DEFAULT 0,
		agreement_no TEXT    UNIQUE,
		created_at   INTEGER NOT NULL,
		removed_at   INTEGER
	);

	CREATE TABLE sms (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		phone      TEXT    NOT NULL,
		otp        TEXT    NOT NULL,
		sent_at    INTEGER NOT NULL,
		visible_at INTEGER NOT NULL
	);
	CREATE INDEX sms_phone ON sms (phone, visible_at);

	CREATE TABLE credit_queries (
		request_id   TEXT    PRIMARY KEY,
		name         TEXT    NOT NULL,
		id_number    TEXT    NOT NULL,
		purpose      TEXT    NOT NULL,
		callback_url TEXT    NOT NULL DEFAULT '',
		status       TEXT    NOT NULL,
		created_at   INTEGER NOT NULL,
		ready_at     INTEGER NOT NULL
	);
	CREATE INDEX credit_queries_due ON credit_queries (status, ready_at);`,
	`-- The fund company: payflow's orders by order id, and its clock offset.
	-- amount is fen, shares hundredths, nav ten-thousandths. confirm_date is the
	-- fund company's date of the decision (its clock offset included), the day
	-- of the confirmations file that lists the order.
	CREATE TABLE fund_orders (
		seq            INTEGER PRIMARY KEY AUTOINCREMENT,
		order_id       TEXT    NOT NULL UNIQUE,
		kind           TEXT    NOT NULL,
		product_id     TEXT    NOT NULL,
		status         TEXT    NOT NULL,
		trade_date     TEXT    NOT NULL,
		nav            INTEGER NOT NULL DEFAULT 0,
		shares         INTEGER NOT NULL DEFAULT 0,
		amount         INTEGER NOT NULL DEFAULT 0,
		fee            INTEGER NOT NULL DEFAULT 0,
		reason         TEXT    NOT NULL DEFAULT '',
		planned_reason TEXT    NOT NULL DEFAULT '',
		dup_callbacks  INTEGER NOT NULL DEFAULT 0,
		callback_url   TEXT    NOT NULL DEFAULT '',
		created_at     INTEGER NOT NULL,
		confirm_at     INTEGER,
		decided_at     INTEGER,
		confirm_date   TEXT    NOT NULL DEFAULT '',
		pay_at         INTEGER,
		paid_at        INTEGER
	);
	CREATE INDEX fund_orders_due ON fund_orders (status, confirm_at);
	CREATE INDEX fund_orders_confirm_date ON fund_orders (confirm_date);

	CREATE TABLE fund_clock (
		id          INTEGER PRIMARY KEY CHECK (id = 1),
		offset_days INTEGER NOT NULL
	);`,
}

// openDB opens (creating when missing) and migrates the SQLite file at path.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("banksim: DBPath is required")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create directory of %s: %w", path, err)
		}
	}
	// Every transaction is BEGIN IMMEDIATE: it takes the write lock before its
	// first read, so two requests can never both see "reference unknown".
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return fmt.Errorf("write user_version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inTx runs fn in one write transaction. writeMu serialises writers of this
// process so they queue in Go instead of spinning on SQLite's busy handler;
// BEGIN IMMEDIATE still protects against another process on the same file.
func (s *Server) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
