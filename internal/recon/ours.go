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
)

// spool reads our records, one keyset page after another from the resume point, into
// a temporary file, on its own goroutine: the pass sorts the statement meanwhile, and
// then merges against the file. Memory holds one page.
type spool struct {
	path string
	done chan struct{}
	err  error
}

func startSpool(ctx context.Context, ours Ours, enrich Enrich, after string, size, workers int, dir string) *spool {
	sp := &spool{path: filepath.Join(dir, "ours"), done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		sp.err = sp.fill(ctx, ours, enrich, after, size, max(workers, 1))
	}()
	return sp
}

// Spool file format, per record: the reference (uvarint length and bytes), a flags
// byte, then what the flags say is there: the intent (kind, currency, status,
// varint amount, expect and books bytes), the ledger (varint amount, currency), the
// carried item (since, then its bank line: kind, currency, status, varint amount
// and line number).
const (
	spoolIntent = 1 << iota
	spoolLedger
	spoolCarried
	spoolCarriedBank
)

// page is one keyset page of our records on its way to the spool: enriched on its
// own goroutine, written in its turn.
type page struct {
	recs []Record
	done chan error
}

// fill reads our records page after page (the keyset needs each page's last
// reference before the next), has up to workers pages enriched at once, and writes
// them to the spool in order. Memory holds at most workers+1 pages.
func (sp *spool) fill(ctx context.Context, ours Ours, enrich Enrich, after string, size, workers int) (err error) {
	w, err := createTemp(sp.path, "spool")
	if err != nil {
		return err
	}
	defer func() { err = w.close(err) }()
	ctx, cancel := context.WithCancel(ctx)
	pending := make(chan *page, workers)
	go func() {
		defer close(pending)
		for {
			p := &page{done: make(chan error, 1)}
			recs, err := ours(ctx, after, size)
			switch {
			case err != nil:
				p.done <- fmt.Errorf("read our records after %q: %w", after, err)
			case len(recs) > 0 && recs[0].Reference <= after:
				// The merge is only right if both sides are sorted the same way.
				p.done <- fmt.Errorf("%w: %q after %q", ErrRecordOrder, recs[0].Reference, after)
			default:
				for i := 1; i < len(recs); i++ {
					if recs[i].Reference <= recs[i-1].Reference {
						err = fmt.Errorf("%w: %q after %q", ErrRecordOrder, recs[i].Reference, recs[i-1].Reference)
						break
					}
				}
				if err != nil {
					p.done <- err
					break
				}
				p.recs = recs
				if enrich == nil || len(recs) == 0 {
					p.done <- nil
				} else {
					go func() { p.done <- enrich(ctx, p.recs) }()
				}
			}
			select {
			case pending <- p:
			case <-ctx.Done():
				<-p.done
				return
			}
			if p.recs == nil || len(recs) < size {
				return
			}
			after = recs[len(recs)-1].Reference
		}
	}()
	// Every page handed over is waited for before fill returns, so that no
	// enrichment outlives the pass.
	defer func() {
		cancel()
		for p := range pending {
			<-p.done
		}
	}()
	for p := range pending {
		if err := <-p.done; err != nil {
			return err
		}
		for i := range p.recs {
			writeRecord(w, &p.recs[i])
		}
	}
	return nil
}

func writeRecord(w *tempWriter, r *Record) {
	w.str(r.Reference)
	var flags byte
	if r.Intent != nil {
		flags |= spoolIntent
	}
	if r.Ledger.Booked {
		flags |= spoolLedger
	}
	if r.Carried != nil {
		flags |= spoolCarried
		if r.Carried.Bank != nil {
			flags |= spoolCarriedBank
		}
	}
	w.w.WriteByte(flags)
	if in := r.Intent; in != nil {
		w.str(in.Kind)
		w.str(in.Currency)
		w.str(in.Status)
		w.varint(in.Amount)
		books := byte(0)
		if in.Books {
			books = 1
		}
		w.w.WriteByte(byte(in.Expect))
		w.w.WriteByte(books)
	}
	if r.Ledger.Booked {
		w.varint(r.Ledger.Amount)
		w.str(r.Ledger.Currency)
	}
	if c := r.Carried; c != nil {
		w.str(c.Since)
		if b := c.Bank; b != nil {
			w.str(b.Kind)
			w.str(b.Currency)
			w.str(b.Status)
			w.varint(b.Amount)
			w.varint(b.No)
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
	return &spoolReader{f: f, r: bufio.NewReaderSize(f, 64<<10), words: map[string]string{}}, nil
}

// spoolReader reads our records back, in order.
type spoolReader struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
	// words interns the kinds, currencies and statuses (a day has few).
	words map[string]string
}

func (s *spoolReader) next() (Record, bool, error) {
	var rec Record
	var err error
	if rec.Reference, err = s.str(); errors.Is(err, io.EOF) {
		return Record{}, false, nil
	} else if err != nil {
		return Record{}, false, err
	}
	if err := s.rest(&rec); err != nil {
		return Record{}, false, fmt.Errorf("read spool: %w", noEOF(err))
	}
	return rec, true, nil
}

// rest reads a record after its reference.
func (s *spoolReader) rest(rec *Record) error {
	flags, err := s.r.ReadByte()
	if err != nil {
		return err
	}
	if flags&spoolIntent != 0 {
		in := &Intent{}
		if err := s.words3(&in.Kind, &in.Currency, &in.Status); err != nil {
			return err
		}
		if in.Amount, err = binary.ReadVarint(s.r); err != nil {
			return err
		}
		expect, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		books, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		in.Expect, in.Books = Expect(expect), books == 1
		rec.Intent = in
	}
	if flags&spoolLedger != 0 {
		rec.Ledger.Booked = true
		if rec.Ledger.Amount, err = binary.ReadVarint(s.r); err != nil {
			return err
		}
		if rec.Ledger.Currency, err = s.word(); err != nil {
			return err
		}
	}
	if flags&spoolCarried != 0 {
		c := &Carried{}
		if c.Since, err = s.str(); err != nil {
			return err
		}
		if flags&spoolCarriedBank != 0 {
			b := &Line{Reference: rec.Reference}
			if err := s.strs(&b.Kind, &b.Currency, &b.Status); err != nil {
				return err
			}
			if b.Amount, err = binary.ReadVarint(s.r); err != nil {
				return err
			}
			if b.No, err = binary.ReadVarint(s.r); err != nil {
				return err
			}
			c.Bank = b
		}
		rec.Carried = c
	}
	return nil
}

func (s *spoolReader) strs(dst ...*string) error {
	for _, d := range dst {
		v, err := s.str()
		if err != nil {
			return err
		}
		*d = v
	}
	return nil
}

func (s *spoolReader) str() (string, error) {
	b, err := s.bytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// words3 reads three interned strings.
func (s *spoolReader) words3(a, b, c *string) error {
	var err error
	for _, d := range []*string{a, b, c} {
		if *d, err = s.word(); err != nil {
			return err
		}
	}
	return nil
}

// word reads a string of the few a day's records repeat, interned.
func (s *spoolReader) word() (string, error) {
	b, err := s.bytes()
	if err != nil {
		return "", err
	}
	if w, ok := s.words[string(b)]; ok {
		return w, nil
	}
	w := string(b)
	if len(s.words) < 1024 {
		s.words[w] = w
	}
	return w, nil
}

// bytes reads a string's bytes into the reader's buffer (valid until the next read).
func (s *spoolReader) bytes() ([]byte, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<20 { // no record of ours has a string this long: a corrupt spool
		return nil, fmt.Errorf("read spool: string of %d bytes", n)
	}
	if int(n) > len(s.buf) {
		s.buf = make([]byte, n)
	}
	if _, err := io.ReadFull(s.r, s.buf[:n]); err != nil {
		return nil, fmt.Errorf("read spool: %w", noEOF(err))
	}
	return s.buf[:n], nil
}

func (s *spoolReader) close() { s.f.Close() }

// noEOF: an end of file inside a record is a truncated spool.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
