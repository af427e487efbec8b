package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// pagedRecs answers n differences page by page and records the queries; a page
// read after failAfter pages fails.
type pagedRecs struct {
	recs
	n, failAfter int
	queries      []starter.DifferenceQuery
}

func (p *pagedRecs) ListDifferences(_ context.Context, q starter.DifferenceQuery) ([]models.Difference, bool, error) {
	p.queries = append(p.queries, q)
	if p.failAfter > 0 && len(p.queries) > p.failAfter {
		return nil, false, errors.New("database down")
	}
	start := 0
	if q.StartingAfter != "" {
		_, err := fmt.Sscanf(q.StartingAfter, "dif_%d", &start)
		if err != nil {
			return nil, false, err
		}
	}
	var out []models.Difference
	for i := start + 1; i <= p.n && len(out) < q.Limit; i++ {
		out = append(out, models.Difference{ID: fmt.Sprintf("dif_%03d", i), Reference: fmt.Sprintf("pay_%d", i), Kind: models.DiffMissingAtBank})
	}
	more := len(out) > 0 && out[len(out)-1].ID != fmt.Sprintf("dif_%03d", p.n)
	return out, more, nil
}

func csvHandler(r Reconciliations, page int) *Handler {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return &Handler{Log: logrus.NewEntry(l), Store: &audits{}, Reconciliations: r, CSVPage: page}
}

// The download reads the run page by page through the keyset (each page after the
// last id of the one before), never all at once; a page that cannot be read cuts
// the connection, so that the client cannot take a short file for the whole run.
func TestDifferencesCSVPages(t *testing.T) {
	p := &pagedRecs{n: 7}
	srv := serve(t, csvHandler(p, 3))
	resp, err := http.Get(srv.URL + "/v1/ops/reconciliations/rec_1/differences.csv")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	require.Len(t, lines, 8)
	require.True(t, strings.HasPrefix(lines[7], "dif_007,pay_7,missing_at_bank,"))
	var cursors []string
	for _, q := range p.queries {
		require.Equal(t, 3, q.Limit)
		require.Equal(t, "rec_1", q.ReconciliationID)
		cursors = append(cursors, q.StartingAfter)
	}
	require.Equal(t, []string{"", "dif_003", "dif_006"}, cursors)

	broken := &pagedRecs{n: 7, failAfter: 1}
	srv = serve(t, csvHandler(broken, 3))
	resp, err = http.Get(srv.URL + "/v1/ops/reconciliations/rec_1/differences.csv")
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err, "the download is cut, not ended")
}

// A formula from the bank's text is prefixed with a quote; numbers are not.
func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+CNY": "'+CNY", "-x": "'-x", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"pay_1": "pay_1", "": "", "a=b": "a=b",
	} {
		require.Equal(t, want, csvText(in), in)
	}
	rec := differenceRecord(models.Difference{ID: "dif_1", Bank: &models.DifferenceSide{Amount: -5}})
	require.Equal(t, "-5", rec[10], "an amount is a number, never quoted")
}
