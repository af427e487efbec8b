package recon

import (
	"context"
	"fmt"
	"time"

	"github.com/payflow/payflow/models"
)

// match is the merge join of the sorted statement and our records (spooled from the
// checkpoint's LastReference on), from the checkpoint's LastReference on.
func (p *pass) match(ctx context.Context, bank *merger, ours *spoolReader) error {
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
	o, ook, err := ours.next()
	if err != nil {
		return err
	}
	c := &p.cp.Counts
	started := time.Now()
	for groups := 1; bok || ook; groups++ {
		var ref string
		switch {
		case bok && (!ook || b.Reference < o.Reference):
			// A line only the statement has: whether it is ours is looked up in
			// batches (most such lines in a day are differences, but a day can
			// have many).
			ref = b.Reference
			if err := p.pend(ctx, b); err != nil {
				return err
			}
		case ook && (!bok || o.Reference < b.Reference):
			ref = o.Reference
			if err := p.classify(ctx, nil, &o, true); err != nil {
				return err
			}
		default:
			ref = b.Reference
			if err := p.classify(ctx, &b, &o, true); err != nil {
				return err
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
			if err := p.pace(ctx, started, groups); err != nil {
				return err
			}
		}
	}
	p.cp.Phase = PhaseDone
	return p.checkpoint(ctx, true)
}

// lookupBatch is how many statement-only lines one Lookup resolves.
const lookupBatch = 1000

// pend keeps a statement-only line until its batch is looked up.
func (p *pass) pend(ctx context.Context, b Line) error {
	p.pending = append(p.pending, b)
	if len(p.pending) < lookupBatch {
		return nil
	}
	return p.resolve(ctx)
}

// resolve looks up the pending statement-only lines and classifies them.
func (p *pass) resolve(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	var found map[string]Record
	if p.job.Lookup != nil {
		refs := make([]string, len(p.pending))
		for i, b := range p.pending {
			refs[i] = b.Reference
		}
		var err error
		if found, err = p.job.Lookup(ctx, refs); err != nil {
			return fmt.Errorf("look up %d statement references: %w", len(refs), err)
		}
	}
	for i := range p.pending {
		b := &p.pending[i]
		o, ok := found[b.Reference]
		var err error
		if ok {
			err = p.classify(ctx, b, &o, false)
		} else {
			err = p.classify(ctx, b, nil, false)
		}
		if err != nil {
			return err
		}
	}
	p.pending = p.pending[:0]
	return nil
}

// classify judges one reference from its statement line (nil: none) and our record
// (nil: none), counts it and stores its difference. spooled says our record came
// from Ours (it is then one of our records whatever the verdict).
func (p *pass) classify(ctx context.Context, b *Line, o *Record, spooled bool) error {
	c := &p.cp.Counts
	if o != nil && (spooled || o.Intent != nil) {
		c.OurRecords++
	}
	v := judge(b, o, p.job.Day, p.job.CarryDays)
	if v.matched() {
		c.Matched++
		return nil
	}
	c.AddDifference(v.kind)
	d := models.Difference{Kind: v.kind, Since: v.since}
	switch {
	case b != nil:
		d.Reference, d.Line, d.Bank = b.Reference, b.No, bankSide(*b)
	case o.Carried != nil && o.Carried.Bank != nil:
		d.Reference, d.Bank = o.Reference, bankSide(*o.Carried.Bank)
	default:
		d.Reference = o.Reference
	}
	if o != nil {
		d.Ours, d.Ledger = intentSide(o.Intent), ledgerSide(o.Ledger)
	}
	return p.batch.add(ctx, p.difference(d))
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
	if err := p.resolve(ctx); err != nil {
		return err
	}
	if err := p.batch.flush(ctx); err != nil {
		return err
	}
	p.lastCP = time.Now()
	p.progress()
	return nil
}

// pace waits, when MaxRefsPerSecond is set, until the references classified so far
// are within the rate.
func (p *pass) pace(ctx context.Context, started time.Time, refs int) error {
	if p.cfg.MaxRefsPerSecond <= 0 {
		return nil
	}
	due := started.Add(time.Duration(float64(refs) / float64(p.cfg.MaxRefsPerSecond) * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func bankSide(b Line) *models.DifferenceSide {
	return &models.DifferenceSide{Kind: b.Kind, Amount: b.Amount, Currency: b.Currency, Status: b.Status}
}
