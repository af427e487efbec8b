package recon

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// spool reads our records, one keyset page after another from the resume point, into
// a temporary file, on its own goroutine: the pass sorts the statement meanwhile, and
// then merges against the file. Memory holds one page.
type spool struct {
	path string
	done chan struct{}
	err  error
}

func startSpool(ctx context.Context, ours Ours, after string, size int, dir string) *spool {
	sp := &spool{path: filepath.Join(dir, "ours"), done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		sp.err = sp.fill(ctx, ours, after, size)
	}()
	return sp
}

// Spool file format, per record: uvarint length and bytes of the reference, kind,
// currency and status, then the varint amount.
func (sp *spool) fill(ctx context.Context, ours Ours, after string, size int) (err error) {
	w, err := createTemp(sp.path, "spool")
	if err != nil {
		return err
	}
	defer func() { err = w.close(err) }()
	for {
		recs, err := ours(ctx, after, size)
		if err != nil {
			return fmt.Errorf("read our records after %q: %w", after, err)
		}
		for i := range recs {
			r := &recs[i]
			// The merge is only right if both sides are sorted the same way.
			if r.Reference <= after {
				return fmt.Errorf("%w: %q after %q", ErrRecordOrder, r.Reference, after)
			}
			after = r.Reference
			w.str(r.Reference)
			w.str(r.Kind)
			w.str(r.Currency)
			w.str(r.Status)
			w.varint(r.Amount)
		}
		if len(recs) < size {
			return nil
		}
	}
}

func (sp *spool) wait() { <-sp.done }

// open waits for the spool to be complete and opens it for the merge.
func (sp *spool) open() (*spoolReader, error) {
	sp.wait()
	if sp.err != nil {
		return nil, sp.err
	}
	f, err := os.Open(sp.path)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	return &spoolReader{f: f, r: bufio.NewReaderSize(f, 64<<10)}, nil
}

// spoolReader reads our records back, in order.
type spoolReader struct {
	f *os.File
	r *bufio.Reader
}

func (s *spoolReader) next() (Record, bool, error) {
	var rec Record
	var err error
	if rec.Reference, err = s.str(); errors.Is(err, io.EOF) {
		return Record{}, false, nil
	} else if err != nil {
		return Record{}, false, err
	}
	for _, dst := range []*string{&rec.Kind, &rec.Currency, &rec.Status} {
		if *dst, err = s.str(); err != nil {
			return Record{}, false, fmt.Errorf("read spool: %w", noEOF(err))
		}
	}
	if rec.Amount, err = binary.ReadVarint(s.r); err != nil {
		return Record{}, false, fmt.Errorf("read spool: %w", noEOF(err))
	}
	return rec, true, nil
}

func (s *spoolReader) str() (string, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(int(n))
	if _, err := io.CopyN(&b, s.r, int64(n)); err != nil {
		return "", fmt.Errorf("read spool: %w", noEOF(err))
	}
	return b.String(), nil
}

func (s *spoolReader) close() { s.f.Close() }

// noEOF: an end of file inside a record is a truncated spool.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
