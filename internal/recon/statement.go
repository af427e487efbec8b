package recon

import (
	"bufio"
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
	lineStatuses = []string{string(models.BankSucceeded), string(models.BankFailed), string(models.BankProcessing)}
)

func intern(set []string, s string) (string, bool) {
	if i := slices.Index(set, s); i >= 0 {
		return set[i], true
	}
	return "", false
}

// sortStatement reads the statement, reports its unreadable lines and returns the
// readable ones sorted by reference (then line number).
func (p *pass) sortStatement(ctx context.Context, dir string) (*merger, error) {
	r := csv.NewReader(bufio.NewReaderSize(p.job.Statement, 256<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: read header: %w", ErrStatementFormat, err)
	}
	if !slices.Equal(header, statementHeader) {
		return nil, fmt.Errorf("%w: header %q, want %q", ErrStatementFormat, strings.Join(header, ","), strings.Join(statementHeader, ","))
	}
	s := newSorter(dir, p.cfg.ChunkLines)
	defer s.abort()
	p.lastCP = time.Now()
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		p.lineCounts.StatementLines++
		p.cp.StatementLines = p.lineCounts.StatementLines
		var perr *csv.ParseError
		switch {
		case errors.As(err, &perr):
			// A broken quote: the line cannot be split into fields. The reader goes
			// on with the next line.
			d := models.Difference{Kind: models.DiffMalformed, Line: int64(perr.StartLine), Raw: truncateRaw(perr.Err.Error())}
			if err := p.bad(ctx, d); err != nil {
				return nil, err
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("read statement at line %d: %w", p.lineCounts.StatementLines+1, err)
		}
		line, _ := r.FieldPos(0)
		l, bad := parseLine(rec, int64(line))
		if bad != nil {
			if err := p.bad(ctx, *bad); err != nil {
				return nil, err
			}
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
		ref := ""
		if len(f) > 0 {
			ref = f[0]
		}
		if len(ref) > maxReference {
			ref = ref[:maxReference]
		}
		return Line{}, &models.Difference{Kind: models.DiffMalformed, Reference: ref, Line: no, Raw: truncateRaw(strings.Join(f, ","))}
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
