package store

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies every migration not yet applied, in version order, and returns the
// versions it applied. It is what `payflow migrate`, `payflow dev` and the helm
// migration Job run.
func (d *DB) Migrate(ctx context.Context) ([]int64, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectMySQL
	if d.Dialect == DialectSQLite {
		dialect = goose.DialectSQLite3
		sub = sqliteFS{sub}
	}
	sqlDB, err := d.DB.DB()
	if err != nil {
		return nil, err
	}
	// Out-of-order: a migration merged later with a lower number than one a database
	// already has (two branches adding tables) is applied instead of refused.
	p, err := goose.NewProvider(dialect, sqlDB, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// sqliteFS serves the migrations with two changes for SQLite: DATETIME(6)
// (microseconds on MySQL) becomes DATETIME, the declared type SQLite's driver
// recognises as a time column (SQLite ignores the precision anyway), and a line
// ending "-- mysql-only" (a column's width changed, which SQLite never enforced) is
// left out. Everything else in the files runs on both databases as written.
type sqliteFS struct{ fs.FS }

func (s sqliteFS) Open(name string) (fs.File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return f, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte("DATETIME(6)"), []byte("DATETIME"))
	b = dropMySQLOnly(b)
	return &memFile{Reader: bytes.NewReader(b), info: memInfo{name: st.Name(), size: int64(len(b)), mod: st.ModTime()}}, nil
}

type memFile struct {
	*bytes.Reader
	info memInfo
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Close() error               { return nil }

type memInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// dropMySQLOnly removes the lines that end with the marker "-- mysql-only".
func dropMySQLOnly(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := make([]byte, 0, len(b))
	for _, l := range lines {
		if bytes.HasSuffix(bytes.TrimRight(l, " \t\r\n"), []byte("-- mysql-only")) {
			continue
		}
		out = append(out, l...)
	}
	return out
}
