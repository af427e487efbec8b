package recon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payflow/payflow/models"
)

// statementHeader is the first line of every statement (internal/bank's contract).
var statementHeader = []string{"reference", "kind", "amount", "currency", "status", "time"}

// maxReference is the longest reference a readable line may carry (our ids are far
// shorter; a longer one is not ours and would not fit the differences table).
const maxReference = 255

// maxRaw is how much of an unreadable line a malformed difference keeps.
const maxRaw = 500

// Line is one readable statement line; No is its line number in the file (the
// header is line 1).
type Line struct {
	Reference string
	Kind      string
	Amount    int64
	Currency  string
	Status    string
	No        int64
}

// Kinds and statuses a statement line may carry. Interned: a sorted chunk stores a
// code, not the text.
var (
	lineKinds    = []string{"charge", "refund", "payout"}
	lineStatuses = []string{string(models.BankSucceeded), string(models.BankFailed), string(models.BankProcessing), string(models.BankCanceled)}
)

func intern(set []string, s string) (string, bool) {
	if i := slices.Index(set, s); i >= 0 {
		return set[i], true
	}
	return "", false
}

// maxLine is the longest statement line read (bytes); a longer one is reported
// malformed and skipped. With lines read one at a time, no line of any statement can
// make the pass hold more than this.
const maxLine = 64 << 10

// sortStatement reads the statement, reports its unreadable lines and returns the
// readable ones sorted by reference (then line number).
//
// The statement is read one physical line at a time, each split into fields on its
// own (CSV quoting within a line is honoured): a stray quote makes its own line
// malformed, where a streaming CSV reader would take every following line into one
// quoted field, unbounded.
func (p *pass) sortStatement(ctx context.Context, dir string) (*merger, error) {
	lr := &lineReader{r: bufio.NewReaderSize(p.job.Statement, maxLine)}
	header, _, long, err := lr.next()
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: the statement is empty", ErrStatementFormat)
	case err != nil:
		return nil, fmt.Errorf("read statement: %w", err)
	case long || header != strings.Join(statementHeader, ","):
		return nil, fmt.Errorf("%w: header %q, want %q", ErrStatementFormat, truncateRaw(header), strings.Join(statementHeader, ","))
	}
	s := newSorter(dir, p.cfg.ChunkLines)
	defer s.abort()
	p.lastCP = time.Now()
	var fields []string
	for {
		text, no, long, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read statement at line %d: %w", lr.no, err)
		}
		if text == "" && !long {
			continue // a blank line is no line
		}
		p.lineCounts.StatementLines++
		p.cp.StatementLines = p.lineCounts.StatementLines
		var l Line
		var bad *models.Difference
		if long {
			bad = &models.Difference{Kind: models.DiffMalformed, Reference: firstField(text), Line: no, Raw: truncateRaw(text)}
		} else if fields, err = splitLine(text, fields); err != nil {
			bad = &models.Difference{Kind: models.DiffMalformed, Reference: firstField(text), Line: no, Raw: truncateRaw(text)}
		} else {
			l, bad = parseLine(fields, no)
		}
		if bad != nil {
			if err := p.bad(ctx, *bad); err != nil {
				return nil, err
			}
			continue
		}
		if l.Status == string(models.BankCanceled) {
			// A transfer the bank canceled moved no money and has no record of ours
			// (payflow records decided movements only): nothing to compare.
			continue
		}
		if err := s.add(l); err != nil {
			return nil, err
		}
		if p.lineCounts.StatementLines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if time.Since(p.lastCP) >= p.cfg.CheckpointEvery {
				p.lastCP = time.Now()
				p.progress()
			}
		}
	}
	if err := p.batch.flush(ctx); err != nil {
		return nil, err
	}
	return s.finish()
}

// lineReader reads physical lines of at most maxLine bytes.
type lineReader struct {
	r  *bufio.Reader
	no int64
}

// next returns the next line without its line ending, and its number; long says it
// was longer than maxLine (text is then its beginning, and the rest was skipped).
func (lr *lineReader) next() (text string, no int64, long bool, err error) {
	b, err := lr.r.ReadSlice('\n')
	if len(b) == 0 && errors.Is(err, io.EOF) {
		return "", 0, false, io.EOF
	}
	lr.no++
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		text, long = string(b[:maxRaw]), true
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.r.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", 0, false, err
		}
		return text, lr.no, true, nil
	case err != nil && !errors.Is(err, io.EOF):
		return "", 0, false, err
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return string(b), lr.no, false, nil
}

// splitLine splits one line into its fields, into dst's storage. A line without a
// quote is split on commas; one with quotes is read by encoding/csv, alone.
func splitLine(text string, dst []string) ([]string, error) {
	dst = dst[:0]
	if strings.IndexByte(text, '"') < 0 {
		for {
			i := strings.IndexByte(text, ',')
			if i < 0 {
				return append(dst, text), nil
			}
			dst = append(dst, text[:i])
			text = text[i+1:]
		}
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		return nil, err
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("a quoted field spans lines")
	}
	return append(dst, rec...), nil
}

// firstField is what an unreadable line seems to name, for its difference.
func firstField(text string) string {
	if i := strings.IndexByte(text, ','); i >= 0 {
		text = text[:i]
	}
	if len(text) > maxReference {
		text = text[:maxReference]
	}
	return strings.ToValidUTF8(text, "")
}

// bad reports an unreadable line.
func (p *pass) bad(ctx context.Context, d models.Difference) error {
	p.lineCounts.AddDifference(d.Kind)
	return p.batch.add(ctx, p.difference(d))
}

// parseLine checks one statement line. A line that cannot be compared is a
// difference: malformed (wrong field count, empty or overlong reference, unknown
// kind or status, an amount that is not an integer in 1..MaxAmount, a time that is
// not RFC 3339) or unknown_currency.
func parseLine(f []string, no int64) (Line, *models.Difference) {
	malformed := func() (Line, *models.Difference) {
		text := strings.Join(f, ",")
		return Line{}, &models.Difference{Kind: models.DiffMalformed, Reference: firstField(text), Line: no, Raw: truncateRaw(text)}
	}
	if len(f) != len(statementHeader) || f[0] == "" || len(f[0]) > maxReference {
		return malformed()
	}
	kind, ok := intern(lineKinds, f[1])
	if !ok {
		return malformed()
	}
	amount, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || models.ValidateAmount(amount) != nil {
		return malformed()
	}
	status, ok := intern(lineStatuses, f[4])
	if !ok {
		return malformed()
	}
	if _, err := time.Parse(time.RFC3339, f[5]); err != nil {
		return malformed()
	}
	cur, err := models.ParseCurrency(f[3])
	if err != nil {
		return Line{}, &models.Difference{
			Kind: models.DiffUnknownCurrency, Reference: f[0], Line: no,
			Bank: &models.DifferenceSide{Kind: kind, Amount: amount, Currency: f[3], Status: status},
		}
	}
	// The fields are slices of the CSV reader's string of the whole line: the
	// reference is copied and the currency interned, so that a chunk in memory holds
	// only what it sorts, not every line's text.
	return Line{Reference: strings.Clone(f[0]), Kind: kind, Amount: amount, Currency: internCurrency(cur), Status: status, No: no}, nil
}

// currencies interns currency codes (a statement has a handful).
var currencies sync.Map

func internCurrency(c models.Currency) string {
	if v, ok := currencies.Load(c); ok {
		return v.(string)
	}
	s := strings.Clone(string(c))
	currencies.Store(models.Currency(s), s)
	return s
}

func truncateRaw(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	return strings.ToValidUTF8(s[:maxRaw], "")
}
