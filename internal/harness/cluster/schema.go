package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os/exec"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver for database/sql
)

// Postgres is the PostgreSQL server Temporal keeps its state in.
type Postgres struct {
	// Addr is host:port (127.0.0.1:5432).
	Addr     string
	User     string
	Password string
}

// dsn is a URL for database db.
func (p Postgres) dsn(db string) string {
	u := url.URL{Scheme: "postgres", Host: p.Addr, Path: "/" + db, RawQuery: "sslmode=disable&connect_timeout=10"}
	if p.Password != "" {
		u.User = url.UserPassword(p.User, p.Password)
	} else {
		u.User = url.User(p.User)
	}
	return u.String()
}

// Open connects to database db.
func (p Postgres) Open(ctx context.Context, db string) (*sql.DB, error) {
	conn, err := sql.Open("pgx", p.dsn(db))
	if err != nil {
		return nil, err
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("PostgreSQL at %s as %s (database %s): %w; if it is down: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", p.Addr, p.User, db, err)
	}
	return conn, nil
}

// schemaSets are Temporal's two databases and the versioned schema embedded in the
// sql tool for each (the module's schema/postgresql/v12/{temporal,visibility}).
func (o TemporalOptions) schemaSets() []struct{ db, schema string } {
	return []struct{ db, schema string }{
		{o.DB, "postgresql/v12/temporal"},
		{o.VisibilityDB, "postgresql/v12/visibility"},
	}
}

// PrepareDatabases makes Temporal's databases ready, idempotently: a database that
// does not exist is created and its schema set up from version 0; one that exists is
// upgraded with update-schema to the server's version (a no-op when it is current).
// Nothing is ever dropped or overwritten.
func PrepareDatabases(ctx context.Context, o TemporalOptions) error {
	admin, err := o.Postgres.Open(ctx, "postgres")
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, set := range o.schemaSets() {
		var exists bool
		if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, set.db).Scan(&exists); err != nil {
			return fmt.Errorf("look for database %s: %w", set.db, err)
		}
		if !exists {
			o.say("creating the PostgreSQL database %s", set.db)
			if err := o.sqlTool(ctx, set.db, "create-database"); err != nil {
				return err
			}
		}
		versioned, err := o.hasSchemaVersion(ctx, set.db)
		if err != nil {
			return err
		}
		if !versioned {
			o.say("setting up Temporal's schema in %s", set.db)
			if err := o.sqlTool(ctx, set.db, "setup-schema", "-v", "0.0"); err != nil {
				return err
			}
		} else {
			o.say("database %s exists: upgrading its schema if the server needs it", set.db)
		}
		if err := o.sqlTool(ctx, set.db, "update-schema", "--schema-name", set.schema); err != nil {
			return err
		}
	}
	return nil
}

// hasSchemaVersion reports whether db already holds the sql tool's version table.
func (o TemporalOptions) hasSchemaVersion(ctx context.Context, db string) (bool, error) {
	conn, err := o.Postgres.Open(ctx, db)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('public.schema_version') IS NOT NULL`).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for the schema version of %s: %w", db, err)
	}
	return ok, nil
}

// sqlTool runs temporal-sql-tool against db, its (verbose) output to the log.
func (o TemporalOptions) sqlTool(ctx context.Context, db string, args ...string) error {
	host, port, err := splitHostPort(o.Postgres.Addr)
	if err != nil {
		return err
	}
	full := append([]string{"--plugin", "postgres12", "--ep", host, "-p", port, "-u", o.Postgres.User, "--db", db}, args...)
	if o.Postgres.Password != "" {
		full = append([]string{"--pw", o.Postgres.Password}, full...)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin("temporal-sql-tool"), full...)
	w := o.out("temporal-sql-tool")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("temporal-sql-tool %s on %s: %w (see the temporal-sql-tool log)", args[0], db, err)
	}
	return nil
}

// DropDatabases drops Temporal's databases: only for the throwaway clusters of tests.
func DropDatabases(ctx context.Context, p Postgres, dbs ...string) error {
	admin, err := p.Open(ctx, "postgres")
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, db := range dbs {
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, db)); err != nil {
			return fmt.Errorf("drop %s: %w", db, err)
		}
	}
	return nil
}
