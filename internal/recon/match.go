package recon

import (
	"context"
	"fmt"
	"time"

	"github.com/payflow/payflow/models"
)

// match is the merge join of the sorted statement and our records, from the
// checkpoint's LastReference on.
func (p *pass) match(ctx context.Context, bank *merger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the page prefetcher
	p.cp.Phase = PhaseMatching
	p.lastCP = time.Now()
	p.progress()

	b, bok, err := bank.next()
	if err != nil {
		return err
	}
	for bok && p.cp.LastReference != "" && b.Reference <= p.cp.LastReference {
		p.res.SkippedLines++
		if b, bok, err = bank.next(); err != nil {
			return err
		}
	}
	ours := prefetch(ctx, p.job.Ours, p.cp.LastReference, p.cfg.PageSize)
	o, ook, err := ours.next()
	if err != nil {
		return err
	}
	c := &p.cp.Counts
	for groups := 1; bok || ook; groups++ {
		var ref string
		switch {
		case bok && (!ook || b.Reference < o.Reference):
			ref = b.Reference
			c.MissingOnOurSide++
			if err := p.batch.add(ctx, p.difference(models.Difference{
				Kind: models.DiffMissingOnOurSide, Reference: ref, Line: b.No, Bank: bankSide(b),
			})); err != nil {
				return err
			}
		case ook && (!bok || o.Reference < b.Reference):
			ref = o.Reference
			c.OurRecords++
			c.MissingAtBank++
			if err := p.batch.add(ctx, p.difference(models.Difference{
				Kind: models.DiffMissingAtBank, Reference: ref, Ours: ourSide(o),
			})); err != nil {
				return err
			}
		default:
			ref = b.Reference
			c.OurRecords++
			kind, differs := compare(b, o)
			if !differs {
				c.Matched++
			} else {
				c.AddDifference(kind)
				if err := p.batch.add(ctx, p.difference(models.Difference{
					Kind: kind, Reference: ref, Line: b.No, Ours: ourSide(o), Bank: bankSide(b),
				})); err != nil {
					return err
				}
			}
		}
		// Consume the reference on both sides: our side has it at most once (it is
		// the primary key); every further statement line with it is a duplicate.
		if ook && o.Reference == ref {
			if o, ook, err = ours.next(); err != nil {
				return err
			}
		}
		if bok && b.Reference == ref {
			p.cp.MergedLines++
			if b, bok, err = bank.next(); err != nil {
				return err
			}
			for bok && b.Reference == ref {
				p.cp.MergedLines++
				c.DuplicateReference++
				if err := p.batch.add(ctx, p.difference(models.Difference{
					Kind: models.DiffDuplicateReference, Reference: ref, Line: b.No, Bank: bankSide(b),
				})); err != nil {
					return err
				}
				if b, bok, err = bank.next(); err != nil {
					return err
				}
			}
		}
		p.cp.LastReference = ref
		if groups%1024 == 0 {
			if err := p.checkpoint(ctx, false); err != nil {
				return err
			}
		}
	}
	p.cp.Phase = PhaseDone
	return p.checkpoint(ctx, true)
}

// checkpoint makes the position durable, when CheckpointEvery has passed (or always,
// with force): the differences up to LastReference are flushed first, so that a pass
// resumed from this checkpoint loses none.
func (p *pass) checkpoint(ctx context.Context, force bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !force && time.Since(p.lastCP) < p.cfg.CheckpointEvery {
		return nil
	}
	if err := p.batch.flush(ctx); err != nil {
		return err
	}
	p.lastCP = time.Now()
	p.progress()
	return nil
}

// compare classifies a reference both sides have. An amount (or currency) difference
// wins over a status difference: each reference ends in one class.
func compare(b Line, o Record) (models.DifferenceKind, bool) {
	switch {
	case b.Amount != o.Amount || b.Currency != o.Currency:
		return models.DiffAmountMismatch, true
	case b.Status != o.Status:
		return models.DiffStatusMismatch, true
	}
	return "", false
}

func bankSide(b Line) *models.DifferenceSide {
	return &models.DifferenceSide{Kind: b.Kind, Amount: b.Amount, Currency: b.Currency, Status: b.Status}
}

func ourSide(o Record) *models.DifferenceSide {
	return &models.DifferenceSide{Kind: o.Kind, Amount: o.Amount, Currency: o.Currency, Status: o.Status}
}

// pages reads our records one keyset page ahead of the merge, so that the database's
// answer and the merge overlap; at most two pages are in memory.
type pages struct {
	ctx  context.Context
	ch   chan page
	cur  []Record
	i    int
	last string
}

type page struct {
	recs []Record
	err  error
}

func prefetch(ctx context.Context, ours Ours, after string, size int) *pages {
	ps := &pages{ctx: ctx, ch: make(chan page, 1), last: after}
	go func() {
		defer close(ps.ch)
		for {
			recs, err := ours(ctx, after, size)
			select {
			case ps.ch <- page{recs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(recs) < size {
				return
			}
			after = recs[len(recs)-1].Reference
		}
	}()
	return ps
}

// next returns our next record, checking that they come in byte order: the merge is
// only right if both sides are sorted the same way.
func (ps *pages) next() (Record, bool, error) {
	for ps.i >= len(ps.cur) {
		pg, ok := <-ps.ch
		if !ok {
			// Closed at the end, or because the pass was cancelled: only the first
			// means "no more records".
			if err := ps.ctx.Err(); err != nil {
				return Record{}, false, err
			}
			return Record{}, false, nil
		}
		if pg.err != nil {
			return Record{}, false, fmt.Errorf("read our records after %q: %w", ps.last, pg.err)
		}
		ps.cur, ps.i = pg.recs, 0
	}
	r := ps.cur[ps.i]
	ps.i++
	if r.Reference <= ps.last {
		return Record{}, false, fmt.Errorf("%w: %q after %q", ErrRecordOrder, r.Reference, ps.last)
	}
	ps.last = r.Reference
	return r, true, nil
}
