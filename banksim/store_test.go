package banksim

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

func TestNewCreatesTheStore(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"relative path in a new directory", filepath.Join(".payflow", "banksim.db")},
		{"URI-special characters", "bank sim?#%.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			s, err := New(Config{DBPath: tt.path, Logger: testLogger()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := os.Stat(tt.path); err != nil {
				t.Fatalf("store not at %q: %v", tt.path, err)
			}
			// Opening again finds the schema in place.
			s, err = New(Config{DBPath: tt.path, Logger: testLogger()})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			s.Close()
		})
	}
}

func TestNewRequiresADBPath(t *testing.T) {
	if _, err := New(Config{Logger: testLogger()}); err == nil {
		t.Fatal("New without DBPath succeeded")
	}
}

// TestUpgradeKeepsTheBanksLines: a store written before the wallet providers
// (schema 2) opens with its statement lines still the bank's.
func TestUpgradeKeepsTheBanksLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "banksim.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		migrations[0], migrations[1], `PRAGMA user_version = 2`,
		`INSERT INTO statement_lines (day, reference, kind, amount, currency, status, time)
			VALUES ('2026-12-05', 'pay_old', 'charge', '40', 'CNY', 'succeeded', '2026-12-05T08:00:00Z')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	e := newEnv(t, Config{DBPath: path})
	if _, lines := e.statement("banksim-2026-12-05.csv"); len(lines) != 1 || lines[0][0] != "pay_old" {
		t.Fatalf("bank statement after the upgrade: %v", lines)
	}
	if _, lines := e.statement("alipaysim-2026-12-05.csv"); len(lines) != 0 {
		t.Fatalf("alipaysim statement after the upgrade: %v", lines)
	}
}
