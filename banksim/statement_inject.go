package banksim

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// injectLine is one planted statement line. Only the date is checked (it
// names the file); every other value is written verbatim so that tests can
// plant malformed lines.
type injectLine struct {
	Date      string      `json:"date"`
	Reference string      `json:"reference"`
	Kind      string      `json:"kind"`
	Amount    json.Number `json:"amount"`
	Currency  string      `json:"currency"`
	Status    string      `json:"status"`
	// Time is optional; it defaults to the day's midnight UTC.
	Time string `json:"time"`
	// Channel is optional: the statement the line goes to, the bank's by
	// default, or a wallet provider's (alipaysim, wxpaysim).
	Channel string `json:"channel"`
}

func (l *injectLine) validate() error {
	if _, err := time.Parse(dayLayout, l.Date); err != nil {
		return errors.New("date must be YYYY-MM-DD")
	}
	if l.Time == "" {
		l.Time = l.Date + "T00:00:00Z"
	}
	return nil
}

// injectResponse answers POST /sim/statement/inject.
type injectResponse struct {
	Inserted int64 `json:"inserted"`
}

// invalidInput marks an error caused by the request, answered 400.
type invalidInput struct{ err error }

func (e invalidInput) Error() string { return e.err.Error() }
func (e invalidInput) Unwrap() error { return e.err }

func invalidf(format string, args ...any) error { return invalidInput{fmt.Errorf(format, args...)} }

// handleInject plants statement lines: one line ({date, reference, ...}) or
// many ({"lines": [...]}). The body is decoded as a stream and written by
// batched inserts in one transaction, so a million lines go in quickly and
// either all or none are planted. Other writes wait while it reads the body.
func (s *Server) handleInject(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithField("route", "statement_inject")
	dec := json.NewDecoder(bufio.NewReaderSize(r.Body, 256<<10))
	var n int64
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		ins := &lineInserter{ctx: r.Context(), tx: tx, channel: s.lineChannel}
		defer ins.close()
		var err error
		if n, err = decodeInject(dec, ins.add); err != nil {
			return err
		}
		return ins.flush()
	})
	var invalid invalidInput
	switch {
	case errors.As(err, &invalid):
		writeInvalid(w, invalid)
	case err != nil:
		writeInternal(w, log, fmt.Errorf("inject statement lines: %w", err))
	default:
		log.WithField("lines", n).Info("statement lines injected")
		writeJSON(w, http.StatusOK, injectResponse{Inserted: n})
	}
}

// decodeInject walks the body's top-level object, passing each line to add
// as soon as it is decoded. It returns the number of lines.
func decodeInject(dec *json.Decoder, add func(injectLine) error) (int64, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return 0, invalidf("body must be a JSON object")
	}
	var (
		single            injectLine
		sawSingle, isBulk bool
		n                 int64
	)
	singleFields := map[string]any{
		"date": &single.Date, "reference": &single.Reference, "kind": &single.Kind, "amount": &single.Amount,
		"currency": &single.Currency, "status": &single.Status, "time": &single.Time, "channel": &single.Channel,
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, invalidf("body: %w", describeJSONError(err))
		}
		key, _ := tok.(string)
		switch field, ok := singleFields[key]; {
		case key == "lines":
			isBulk = true
			if err := expectDelim(dec, '['); err != nil {
				return 0, invalidf("lines must be an array")
			}
			for dec.More() {
				var l injectLine
				if err := dec.Decode(&l); err != nil {
					return 0, invalidf("lines[%d]: %w", n, describeJSONError(err))
				}
				if err := l.validate(); err != nil {
					return 0, invalidf("lines[%d]: %w", n, err)
				}
				if err := add(l); err != nil {
					return 0, err
				}
				n++
			}
			if err := expectDelim(dec, ']'); err != nil {
				return 0, invalidf("lines: malformed JSON")
			}
		case ok:
			sawSingle = true
			if err := dec.Decode(field); err != nil {
				return 0, invalidf("%s: %w", key, describeJSONError(err))
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, invalidf("body: %w", describeJSONError(err))
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return 0, invalidf("body: malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return 0, invalidf("body: unexpected data after the JSON object")
	}
	if isBulk {
		if sawSingle {
			return 0, invalidf("send either one line or \"lines\", not both")
		}
		return n, nil
	}
	if err := single.validate(); err != nil {
		return 0, invalidInput{err}
	}
	return 1, add(single)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q", want)
	}
	return nil
}

// injectBatchRows is the lines per INSERT. A batch is bound as one JSON
// parameter and unpacked by json_each: the driver binds parameters in
// quadratic time, so a multi-row VALUES list of thousands of "?" would be
// slower than this by far.
const injectBatchRows = 1000

// insertLinesSQL inserts the lines of a JSON array of 8-string arrays, in
// array order.
const insertLinesSQL = `INSERT INTO statement_lines (day, reference, kind, amount, currency, status, time, channel, injected)
	SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, 1
	FROM json_each(?) ORDER BY key`

// lineInserter buffers injected lines into batches.
type lineInserter struct {
	ctx context.Context
	tx  *sql.Tx
	// channel maps a line's channel to its statement_lines column.
	channel func(string) (string, bool)
	stmt    *sql.Stmt
	batch   bytes.Buffer
	enc     *json.Encoder
	rows    int
}

func (ins *lineInserter) add(l injectLine) error {
	channel := ""
	if l.Channel != "" {
		var ok bool
		if channel, ok = ins.channel(l.Channel); !ok {
			return invalidf("unknown channel %q", l.Channel)
		}
	}
	if ins.enc == nil {
		ins.enc = json.NewEncoder(&ins.batch)
		ins.enc.SetEscapeHTML(false)
	}
	if ins.rows == 0 {
		ins.batch.WriteByte('[')
	} else {
		ins.batch.WriteByte(',')
	}
	// Amount goes as a string: the statement shows it exactly as sent.
	err := ins.enc.Encode([8]string{l.Date, l.Reference, l.Kind, l.Amount.String(), l.Currency, l.Status, l.Time, channel})
	if err != nil {
		return fmt.Errorf("encode line: %w", err)
	}
	ins.rows++
	if ins.rows < injectBatchRows {
		return nil
	}
	return ins.flush()
}

// flush inserts the buffered lines.
func (ins *lineInserter) flush() error {
	if ins.rows == 0 {
		return nil
	}
	ins.batch.WriteByte(']')
	if ins.stmt == nil {
		stmt, err := ins.tx.PrepareContext(ins.ctx, insertLinesSQL)
		if err != nil {
			return fmt.Errorf("prepare insert: %w", err)
		}
		ins.stmt = stmt
	}
	if _, err := ins.stmt.ExecContext(ins.ctx, ins.batch.String()); err != nil {
		return fmt.Errorf("insert lines: %w", err)
	}
	ins.batch.Reset()
	ins.rows = 0
	return nil
}

func (ins *lineInserter) close() {
	if ins.stmt != nil {
		ins.stmt.Close()
	}
}
