package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/store"
)

// Floor is what MariaDB alone takes to stream the rows a pass reads of our side of a
// day, into nothing (database/sql, sql.RawBytes: no conversion, no merge): the
// bound under the pass's wall time that no change to the reconciling process can
// lift.
type Floor struct {
	// TransfersSeconds streams the day's references (the keyset pages' index).
	TransfersSeconds float64 `json:"transfers_seconds"`
	// JoinSeconds streams the day's three sides (store.ReconDaySQL: each transfer
	// with its object, its reversal's record and its clearing entries) in one query.
	JoinSeconds float64 `json:"join_seconds"`
	// JoinParallelSeconds is the same split in FloorParts ranges read at once (the
	// pass enriches four pages at once).
	JoinParallelSeconds float64 `json:"join_parallel_seconds"`
	FloorParts          int     `json:"floor_parts"`
	Rows                int64   `json:"rows"`
	// DiskPagesRead is how many pages InnoDB read from disk during the join (its
	// buffer pool does not hold the day's tables: the read is bound by the disk).
	DiskPagesRead int64 `json:"disk_pages_read"`
	BufferPoolMB  int64 `json:"buffer_pool_mb"`
}

const floorParts = 4

// measureFloor times the floor of a seeded day.
func measureFloor(ctx context.Context, db *store.DB, day string) (Floor, error) {
	st := store.New(db, nil)
	sqlDB, err := db.DB.DB()
	if err != nil {
		return Floor{}, err
	}
	f := Floor{FloorParts: floorParts}
	_ = sqlDB.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size DIV 1048576").Scan(&f.BufferPoolMB)

	// The day's references, and the bounds of floorParts equal ranges of them.
	start := time.Now()
	rows, err := sqlDB.QueryContext(ctx, `SELECT reference FROM bank_transfers FORCE INDEX (bank_transfers_channel_day_reference)
		WHERE channel = ? AND day = ? ORDER BY reference`, sim.Name, day)
	if err != nil {
		return f, err
	}
	// Every thousandth reference, and the one before it.
	var firsts, lasts []string
	var ref sql.RawBytes
	var prev []byte
	var n int
	for rows.Next() {
		if err := rows.Scan(&ref); err != nil {
			rows.Close()
			return f, err
		}
		if n%1000 == 0 {
			firsts = append(firsts, string(ref))
			lasts = append(lasts, string(prev))
		}
		prev = append(prev[:0], ref...)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	f.TransfersSeconds = time.Since(start).Seconds()
	if n == 0 {
		return f, fmt.Errorf("floor: no transfers on %s", day)
	}
	last := "\xff"

	stream := func(lo, hi string) (int64, error) {
		rows, err := sqlDB.QueryContext(ctx, st.ReconDaySQL(), sim.Name, day, lo, hi)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols := make([]any, 8)
		raw := make([]sql.RawBytes, 8)
		for i := range cols {
			cols[i] = &raw[i]
		}
		var count int64
		for rows.Next() {
			if err := rows.Scan(cols...); err != nil {
				return count, err
			}
			count++
		}
		return count, rows.Err()
	}
	diskReads := func() int64 {
		var name string
		var v int64
		_ = sqlDB.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_reads'").Scan(&name, &v)
		return v
	}
	r0 := diskReads()
	start = time.Now()
	if f.Rows, err = stream("", last); err != nil {
		return f, fmt.Errorf("floor: %w", err)
	}
	f.JoinSeconds = time.Since(start).Seconds()
	f.DiskPagesRead = diskReads() - r0

	// The same in floorParts ranges of about as many references, at once.
	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, floorParts)
	for k := 0; k < floorParts; k++ {
		lo, hi := "", last
		if k > 0 {
			lo = firsts[k*len(firsts)/floorParts]
		}
		if k+1 < floorParts {
			hi = lasts[(k+1)*len(firsts)/floorParts]
		}
		wg.Add(1)
		go func(k int, lo, hi string) {
			defer wg.Done()
			_, errs[k] = stream(lo, hi)
		}(k, lo, hi)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return f, fmt.Errorf("floor: %w", err)
		}
	}
	f.JoinParallelSeconds = time.Since(start).Seconds()
	return f, nil
}
