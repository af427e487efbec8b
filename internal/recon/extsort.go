package recon

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/payflow/payflow/models"
)

// sorter is a bounded external sort of statement lines: lines gather in a chunk of at
// most max; a full chunk is sorted and written to a file by a background goroutine
// while the next one fills, so that at most two chunks are in memory.
type sorter struct {
	dir      string
	max      int
	buf      []Line
	spare    []Line
	files    []string
	inflight chan error
}

func newSorter(dir string, max int) *sorter {
	return &sorter{dir: dir, max: max, buf: make([]Line, 0, min(max, 4096))}
}

func (s *sorter) add(l Line) error {
	s.buf = append(s.buf, l)
	if len(s.buf) < s.max {
		return nil
	}
	return s.spill()
}

// spill hands the full chunk to the writer goroutine, after the previous one has
// finished, and goes on filling the other buffer.
func (s *sorter) spill() error {
	if err := s.wait(); err != nil {
		return err
	}
	full := s.buf
	s.buf, s.spare = s.spare[:0], full
	path := filepath.Join(s.dir, fmt.Sprintf("chunk-%05d", len(s.files)))
	s.files = append(s.files, path)
	done := make(chan error, 1)
	s.inflight = done
	go func() { done <- writeChunk(path, full) }()
	return nil
}

func (s *sorter) wait() error {
	if s.inflight == nil {
		return nil
	}
	err := <-s.inflight
	s.inflight = nil
	return err
}

// abort waits for a chunk still being written, so that no goroutine outlives the pass.
func (s *sorter) abort() { _ = s.wait() }

// finish writes the last chunk and returns the k-way merge of all of them.
func (s *sorter) finish() (*merger, error) {
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	if err := s.wait(); err != nil {
		return nil, err
	}
	s.buf, s.spare = nil, nil
	m := &merger{}
	for _, f := range s.files {
		r, err := openChunk(f)
		if err != nil {
			m.close()
			return nil, err
		}
		m.readers = append(m.readers, r)
	}
	for _, r := range m.readers {
		ok, err := r.next()
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.h = append(m.h, r)
		}
	}
	heap.Init(&m.h)
	return m, nil
}

func lineLess(a, b *Line) int {
	if c := strings.Compare(a.Reference, b.Reference); c != 0 {
		return c
	}
	return cmp.Compare(a.No, b.No)
}

// Chunk file format, per line: uvarint length and bytes of the reference, one byte
// each for kind and status (their index in lineKinds and lineStatuses), uvarint
// length and bytes of the currency, varint amount, uvarint line number.
func writeChunk(path string, lines []Line) (err error) {
	slices.SortFunc(lines, func(a, b Line) int { return lineLess(&a, &b) })
	w, err := createTemp(path, "chunk")
	if err != nil {
		return err
	}
	defer func() { err = w.close(err) }()
	for i := range lines {
		l := &lines[i]
		w.str(l.Reference)
		w.w.WriteByte(byte(slices.Index(lineKinds, l.Kind)))
		w.w.WriteByte(byte(slices.Index(lineStatuses, l.Status)))
		w.str(l.Currency)
		w.varint(l.Amount)
		w.uvarint(uint64(l.No))
	}
	return nil
}

// tempWriter writes one of a pass's temporary files (a sorted chunk, the spool of
// our records) through a buffer.
type tempWriter struct {
	what string
	f    *os.File
	w    *bufio.Writer
	num  [binary.MaxVarintLen64]byte
}

func createTemp(path, what string) (*tempWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", what, err)
	}
	return &tempWriter{what: what, f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// str writes s as its uvarint length and its bytes.
func (t *tempWriter) str(s string) {
	t.uvarint(uint64(len(s)))
	t.w.WriteString(s)
}

func (t *tempWriter) uvarint(x uint64) { t.w.Write(t.num[:binary.PutUvarint(t.num[:], x)]) }

func (t *tempWriter) varint(x int64) { t.w.Write(t.num[:binary.PutVarint(t.num[:], x)]) }

// close ends the file after the writing that ended with err: it flushes what is
// buffered when err is nil, and closes the file. It returns err, else the first
// error of the flush or the close.
func (t *tempWriter) close(err error) error {
	if err == nil {
		if ferr := t.w.Flush(); ferr != nil {
			err = fmt.Errorf("write %s: %w", t.what, ferr)
		}
	}
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", t.what, cerr)
	}
	return err
}

// chunkReader reads one sorted chunk back, one line at a time.
type chunkReader struct {
	f   *os.File
	r   *bufio.Reader
	cur Line
	buf []byte
}

func openChunk(path string) (*chunkReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open chunk: %w", err)
	}
	return &chunkReader{f: f, r: bufio.NewReaderSize(f, 64<<10)}, nil
}

// next reads the next line into cur; false at the end of the chunk.
func (c *chunkReader) next() (bool, error) {
	n, err := binary.ReadUvarint(c.r)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	if c.cur.Reference, err = c.str(n); err != nil {
		return false, err
	}
	var codes [2]byte
	if _, err := io.ReadFull(c.r, codes[:]); err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	if int(codes[0]) >= len(lineKinds) || int(codes[1]) >= len(lineStatuses) {
		return false, fmt.Errorf("read chunk: bad codes %v", codes)
	}
	c.cur.Kind, c.cur.Status = lineKinds[codes[0]], lineStatuses[codes[1]]
	if n, err = binary.ReadUvarint(c.r); err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	if int(n) > len(c.buf) {
		c.buf = make([]byte, n)
	}
	if _, err := io.ReadFull(c.r, c.buf[:n]); err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	// Interned: the currency was checked before the line was sorted, and a statement
	// has few (comparing with the last one allocates nothing).
	if string(c.buf[:n]) != c.cur.Currency {
		cur, err := models.ParseCurrency(string(c.buf[:n]))
		if err != nil {
			return false, fmt.Errorf("read chunk: %w", err)
		}
		c.cur.Currency = internCurrency(cur)
	}
	if c.cur.Amount, err = binary.ReadVarint(c.r); err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	no, err := binary.ReadUvarint(c.r)
	if err != nil {
		return false, fmt.Errorf("read chunk: %w", err)
	}
	c.cur.No = int64(no)
	return true, nil
}

func (c *chunkReader) str(n uint64) (string, error) {
	if n > maxReference {
		return "", fmt.Errorf("read chunk: reference of %d bytes", n)
	}
	if int(n) > len(c.buf) {
		c.buf = make([]byte, n)
	}
	if _, err := io.ReadFull(c.r, c.buf[:n]); err != nil {
		return "", fmt.Errorf("read chunk: %w", noEOF(err))
	}
	return string(c.buf[:n]), nil
}

// merger is the k-way merge of the sorted chunks: a min-heap of their readers keyed
// by each one's current line.
type merger struct {
	readers []*chunkReader
	h       chunkHeap
}

// next returns the smallest remaining line.
func (m *merger) next() (Line, bool, error) {
	if len(m.h) == 0 {
		return Line{}, false, nil
	}
	top := m.h[0]
	l := top.cur
	ok, err := top.next()
	if err != nil {
		return Line{}, false, err
	}
	if ok {
		heap.Fix(&m.h, 0)
	} else {
		heap.Pop(&m.h)
	}
	return l, true, nil
}

func (m *merger) close() {
	for _, r := range m.readers {
		r.f.Close()
	}
}

type chunkHeap []*chunkReader

func (h chunkHeap) Len() int           { return len(h) }
func (h chunkHeap) Less(i, j int) bool { return lineLess(&h[i].cur, &h[j].cur) < 0 }
func (h chunkHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *chunkHeap) Push(x any)        { *h = append(*h, x.(*chunkReader)) }
func (h *chunkHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
