package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/payflow/payflow/internal/store"
)

// DumpTables returns every row of every table of the database as text, one line per
// row (table name, then each column's value), so that a test can search the whole
// database for something that must not be there (a secret in clear).
func DumpTables(ctx context.Context, db *store.DB) (string, error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return "", err
	}
	var tables []string
	q := "SHOW TABLES"
	if db.Dialect == store.DialectSQLite {
		q = "SELECT name FROM sqlite_master WHERE type = 'table'"
	}
	rows, err := sqlDB.QueryContext(ctx, q)
	if err != nil {
		return "", fmt.Errorf("list tables: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return "", err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	sort.Strings(tables)
	var b strings.Builder
	for _, table := range tables {
		quoted := "`" + strings.ReplaceAll(table, "`", "``") + "`"
		if err := dumpTable(ctx, sqlDB, table, quoted, &b); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func dumpTable(ctx context.Context, db *sql.DB, table, quoted string, b *strings.Builder) error {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+quoted)
	if err != nil {
		return fmt.Errorf("dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("dump %s: %w", table, err)
		}
		b.WriteString(table)
		for i, v := range values {
			b.WriteString("\t")
			b.WriteString(cols[i])
			b.WriteString("=")
			switch v := v.(type) {
			case nil:
				b.WriteString("NULL")
			case []byte:
				b.Write(v)
			default:
				fmt.Fprint(b, v)
			}
		}
		b.WriteString("\n")
	}
	return rows.Err()
}
