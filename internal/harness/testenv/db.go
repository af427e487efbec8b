// Package testenv gives tests real databases: a migrated SQLite file per test and a
// migrated MariaDB/MySQL database per test (created and dropped by the test). MySQL
// is never skipped: a test that needs it fails with a clear message when it is down.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver for database/sql

	"github.com/payflow/payflow/internal/store"
)

// MySQLAddr is the server the tests use (MYSQL_ADDR, default 127.0.0.1:3306, root
// with an empty password unless MYSQL_USER / MYSQL_PASSWORD say otherwise).
func MySQLAddr() string {
	if a := os.Getenv("MYSQL_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:3306"
}

func mysqlUserPass() (string, string) {
	u := os.Getenv("MYSQL_USER")
	if u == "" {
		u = "root"
	}
	return u, os.Getenv("MYSQL_PASSWORD")
}

// Backend is a database flavour tests run on.
type Backend string

// Backends every store test runs on.
const (
	SQLite Backend = "sqlite"
	MySQL  Backend = "mysql"
)

// Backends lists both, for table tests.
var Backends = []Backend{SQLite, MySQL}

// CreateMySQLDatabase creates a fresh database and returns its payflow DSN and a
// function that drops it.
func CreateMySQLDatabase(prefix string) (dsn string, drop func(), err error) {
	user, pass := mysqlUserPass()
	admin, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/", user, pass, MySQLAddr()))
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("MariaDB/MySQL is not reachable at %s as %s: %w; start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`", MySQLAddr(), user, err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
		admin.Close()
	}
	return fmt.Sprintf("mysql://%s:%s@tcp(%s)/%s", user, pass, MySQLAddr(), name), drop, nil
}

// OpenMySQL creates a fresh MariaDB/MySQL database and migrates it, for a program
// that is not a test (the benchmarks): its DSN, the handle, and a function that
// closes the handle and drops the database.
func OpenMySQL(ctx context.Context, prefix string, maxOpen int) (string, *store.DB, func(), error) {
	dsn, drop, err := CreateMySQLDatabase(prefix)
	if err != nil {
		return "", nil, nil, err
	}
	db, err := store.Open(dsn, maxOpen)
	if err != nil {
		drop()
		return "", nil, nil, err
	}
	closeAndDrop := func() {
		db.Close()
		drop()
	}
	if _, err := db.Migrate(ctx); err != nil {
		closeAndDrop()
		return "", nil, nil, err
	}
	return dsn, db, closeAndDrop, nil
}

// DSN returns a fresh, empty database of the backend for the test, dropped or removed
// when it ends.
func DSN(t testing.TB, b Backend) string {
	t.Helper()
	switch b {
	case SQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "payflow.db")
	case MySQL:
		dsn, drop, err := CreateMySQLDatabase("payflow_test")
		if err != nil {
			t.Fatalf("%v", err)
		}
		t.Cleanup(drop)
		return dsn
	}
	t.Fatalf("unknown backend %q", b)
	return ""
}

// Open returns a migrated database of the backend for the test.
func Open(t testing.TB, b Backend) *store.DB {
	t.Helper()
	db, err := store.Open(DSN(t, b), 0)
	if err != nil {
		t.Fatalf("open %s: %v", b, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", b, err)
	}
	return db
}
