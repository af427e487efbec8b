package ledger

import (
	"context"
	"errors"
)

// BatchResult answers one posting of a batch: its journal (Existing when its key had
// been posted before), or the ledger rule that refused it (an error wrapping
// ErrRejected). A refused posting wrote nothing and did not fail its neighbours.
type BatchResult struct {
	Journal Journal
	Err     error
}

// PostBatch posts many independent journals (a day's yield credits, say) and answers
// each: results[i] is postings[i]'s. A posting refused by a ledger rule is answered
// alone; an infrastructure failure (the database down, the context ended) fails the
// call, and running the same batch again is safe, every posting carrying its key.
func (l *Ledger) PostBatch(ctx context.Context, postings []Posting) ([]BatchResult, error) {
	results := make([]BatchResult, len(postings))
	for i, p := range postings {
		var j Journal
		err := l.Run(ctx, func(tx *Tx) error {
			var err error
			j, err = tx.Post(p)
			return err
		})
		switch {
		case err == nil:
			results[i].Journal = j
		case errors.Is(err, ErrRejected):
			results[i].Err = err
		default:
			return nil, err
		}
	}
	return results, nil
}
