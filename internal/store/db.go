// Package store owns payflow's database: the connection (SQLite locally, MySQL in
// production, the same code on both), the versioned migrations, and the rows of the
// objects the API serves. Rows are private structs converted to models types, so that
// domain types carry no ORM tags.
package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a *gorm.DB.
type Dialect string

// Supported dialects.
const (
	DialectSQLite Dialect = "sqlite"
	DialectMySQL  Dialect = "mysql"
)

// DB is the database handle with its dialect.
type DB struct {
	*gorm.DB
	Dialect Dialect
	// MultiStatements is whether one Exec may carry several statements separated by
	// semicolons (MySQL with multiStatements=true, the default of MySQLDriverDSN): the
	// ledger's group commit then writes its journals, entries and accounts in one
	// round trip.
	MultiStatements bool
}

// Open connects to the database a DSN names: sqlite://<path> or mysql://... . The
// SQLite file's directory is created. Times are written in UTC.
func Open(dsn string, maxOpen int) (*DB, error) {
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger:                 logger.Discard,
	}
	var (
		dialector gorm.Dialector
		dialect   Dialect
		// what names the database in an error; defaultOpen is the pool's size when
		// maxOpen is not set.
		what        string
		defaultOpen int
		multi       bool
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("sqlite DSN %q names no file", dsn)
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second writer
		// wait instead of failing; immediate transactions take the write lock at BEGIN,
		// so that a read-then-write transaction cannot deadlock on lock upgrade.
		full := "file:" + path + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		dialector, dialect, what, defaultOpen = sqlite.Open(full), DialectSQLite, "sqlite "+path, 4
	case strings.HasPrefix(dsn, "mysql://"):
		goDSN, err := MySQLDriverDSN(dsn)
		if err != nil {
			return nil, err
		}
		dialector, dialect, what, defaultOpen = mysql.Open(goDSN), DialectMySQL, "mysql", 32
		if c, err := mysqldriver.ParseDSN(goDSN); err == nil {
			multi = c.MultiStatements
		}
	default:
		return nil, fmt.Errorf("database DSN must start with sqlite:// or mysql://")
	}
	g, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if maxOpen <= 0 {
		maxOpen = defaultOpen
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	if dialect == DialectMySQL {
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	return &DB{DB: g, Dialect: dialect, MultiStatements: multi}, nil
}

// MySQLDriverDSN turns mysql://user:pass@tcp(host:port)/db?x=y or
// mysql://user:pass@host:port/db into the Go driver's DSN, with the settings payflow
// relies on: parsed UTC times and utf8mb4.
func MySQLDriverDSN(dsn string) (string, error) {
	rest := strings.TrimPrefix(dsn, "mysql://")
	var cfg *mysqldriver.Config
	if strings.Contains(rest, "@tcp(") || strings.Contains(rest, "@unix(") || strings.HasPrefix(rest, "tcp(") {
		c, err := mysqldriver.ParseDSN(rest)
		if err != nil {
			return "", fmt.Errorf("mysql DSN: %w", err)
		}
		cfg = c
	} else {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("mysql DSN: %w", err)
		}
		cfg = mysqldriver.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		params := map[string]string{}
		for k, v := range u.Query() {
			params[k] = v[0]
		}
		cfg.Params = params
	}
	if cfg.DBName == "" {
		return "", fmt.Errorf("mysql DSN names no database")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["charset"]; !ok {
		cfg.Params["charset"] = "utf8mb4"
	}
	// Client-side parameter interpolation: a statement with arguments is one round
	// trip instead of three (prepare, execute, close a server-side statement), which
	// halved the round trips of a ledger posting (make bench's profiles spent a third
	// of the database time in Prepare and Close). It is safe with utf8mb4 (the driver
	// refuses it with the multibyte charsets where escaping is ambiguous) and follows
	// the server's NO_BACKSLASH_ESCAPES. A DSN that sets interpolateParams wins.
	onUnlessSet(cfg, rest, "interpolateParams", &cfg.InterpolateParams)
	// Several statements per round trip, which the ledger's group commit uses for its
	// final write (journals, entries, accounts: one round trip instead of three).
	// Every statement of payflow is built with placeholders; a DSN that sets
	// multiStatements wins.
	onUnlessSet(cfg, rest, "multiStatements", &cfg.MultiStatements)
	return cfg.FormatDSN(), nil
}

// onUnlessSet turns the driver's flag name on, unless the DSN (its query, rest) sets
// it: then its value stands, and it leaves the free parameters.
func onUnlessSet(cfg *mysqldriver.Config, rest, name string, flag *bool) {
	if v, ok := cfg.Params[name]; ok {
		*flag = v == "true"
		delete(cfg.Params, name)
	} else if !strings.Contains(rest, name+"=") {
		*flag = true
	}
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the pool.
func (d *DB) Close() error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
