package recon

import (
	"context"
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
			if err := p.pace(ctx, started, groups); err != nil {
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

// compare classifies a reference both sides have. An amount (or currency) difference
// wins over a status difference: each reference ends in one class. Kinds are not
// compared: our references carry their kind in their prefix (pay_, re_, wd_).
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
