package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
)

// Group commit: the Run calls that arrive while the ledger's transactions are busy
// wait in a queue, and the next free transaction takes the whole queue (up to
// DefaultGroupMax calls) and runs them one after the other in one database
// transaction, with one commit. Their journals and entries are not written as each
// call posts them but at the end, in one multi-row insert each (as PostBatch writes
// them), and the changed accounts in one version-checked update, so that a posting
// costs its call's own statements (reading its accounts, its status changes) and a
// share of the group's begin, inserts, update and commit.
//
// The group is all or nothing. When anything fails (a call's own error, a business
// refusal, a key posted before by an earlier transaction, a concurrent change of an
// account, the database rolling the transaction back), the whole group rolls back and
// every call in it runs again in a transaction of its own, in the group's order,
// exactly as Run without grouping runs it: each call gets the answer it would have
// got alone, and a call that fails never fails its neighbours. Within a group the calls see each other's
// changes in their order (an account's balance, a hold, a key posted by an earlier
// call, which a later call's Post answers as Existing), as consecutive transactions
// would.
//
// A key posted by a transaction before the group is found when the group inserts its
// journals (the unique key refuses it), not by a lookup per posting: the group rolls
// back and its calls run alone, where Post looks the key up. Such replays (an activity
// retried after its first attempt committed) are rare next to first postings.

// DefaultGroupMax is how many Run calls one group transaction takes at most.
const DefaultGroupMax = 64

// DefaultGroupSlots is how many group transactions one process runs at once. With one,
// the calls gather while the group before them commits, and no two groups of the
// process contend for an account (a merchant's settlement account, say); make bench
// measured it ahead of two at 8 and 32 concurrent callers (0.57 and 0.95 x raw
// commits against 0.51 and 0.83). More let a group whose call waits on a row lock not
// hold up the others.
const DefaultGroupSlots = 1

type grouper struct {
	max   int
	slots chan struct{}
	mu    sync.Mutex
	queue []*groupCall
	cache *accountCache
}

type groupCall struct {
	fn    func(*Tx) error
	taken bool
	done  chan struct{}
	// alone is set when the call's group failed: the call runs again on its own,
	// after the call before it in the group (after) ran alone, and then closes
	// aloneDone, so that the calls of a failed group still run in their order.
	alone     bool
	after     chan struct{}
	aloneDone chan struct{}
}

// SetGroup sets how many Run calls one transaction takes at most (calls) and how
// many such transactions run at once (slots); calls 0 turns group commit off (every Run call
// is a transaction of its own). It is meant to be called once, before the Ledger is
// used.
func (l *Ledger) SetGroup(calls, slots int) {
	if calls <= 0 {
		l.group = nil
		return
	}
	l.group = &grouper{max: calls, slots: make(chan struct{}, max(slots, 1)), cache: &accountCache{rows: map[string]accountRow{}}}
}

// ObserveGroups has fn called after every group transaction with its number of calls
// and whether it committed (false: each call ran again alone): the metrics' hook. It
// is meant to be called once, before the Ledger is used.
func (l *Ledger) ObserveGroups(fn func(calls int, committed bool)) { l.observe = fn }

// runGrouped queues fn and waits until a group transaction ran it, leading one
// itself when a slot is free.
func (l *Ledger) runGrouped(ctx context.Context, g *grouper, fn func(*Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	g.mu.Unlock()
	for {
		select {
		case <-c.done:
			return l.afterGroup(ctx, c)
		case g.slots <- struct{}{}:
			if calls := g.take(); len(calls) > 0 {
				l.runGroup(ctx, g, calls)
			}
			<-g.slots
			if g.taken(c) {
				<-c.done
				return l.afterGroup(ctx, c)
			}
		case <-ctx.Done():
			if g.withdraw(c) {
				return ctx.Err()
			}
			<-c.done
			return l.afterGroup(ctx, c)
		}
	}
}

func (l *Ledger) afterGroup(ctx context.Context, c *groupCall) error {
	if !c.alone {
		return nil
	}
	defer close(c.aloneDone)
	if c.after != nil {
		select {
		case <-c.after:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return l.runAlone(ctx, c.fn)
}

// take removes up to max calls from the head of the queue.
func (g *grouper) take() []*groupCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), g.max)
	calls := make([]*groupCall, n)
	copy(calls, g.queue[:n])
	g.queue = append(g.queue[:0], g.queue[n:]...)
	for _, c := range calls {
		c.taken = true
	}
	return calls
}

func (g *grouper) taken(c *groupCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return c.taken
}

// withdraw removes c from the queue if no transaction took it yet.
func (g *grouper) withdraw(c *groupCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.taken {
		return false
	}
	for i, q := range g.queue {
		if q == c {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	return true
}

// groupAttempts is how many times a group runs when a concurrent transaction changed
// one of its accounts (or the database rolled it back) before its calls run alone.
const groupAttempts = 3

// runGroup runs calls in one transaction and tells each whether it committed; when
// the group failed, each is told to run alone.
func (l *Ledger) runGroup(ctx context.Context, g *grouper, calls []*groupCall) {
	err := l.groupTx(ctx, g, calls)
	if l.observe != nil {
		l.observe(len(calls), err == nil)
	}
	for i, c := range calls {
		if err != nil {
			c.alone, c.aloneDone = true, make(chan struct{})
			if i > 0 {
				c.after = calls[i-1].aloneDone
			}
		}
		close(c.done)
	}
}

// groupTx runs calls in one transaction, run again (store.Transact) after a conflict
// or a rollback by the database, each time on fresh reads of the accounts the attempt
// before took from the cache.
func (l *Ledger) groupTx(ctx context.Context, g *grouper, calls []*groupCall) (err error) {
	accounts := map[string]*accountState{}
	defer func() {
		// A call that panics panics again when it runs alone, in its own goroutine.
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in a grouped ledger transaction: %v", r)
		}
		if err != nil {
			g.cache.drop(accounts)
		} else {
			g.cache.keep(accounts)
		}
	}()
	return l.db.Transact(ctx, groupAttempts, func(gtx *gorm.DB) error {
		g.cache.drop(accounts) // what a failed attempt before this one took
		accounts = map[string]*accountState{}
		w := &deferred{keys: map[string]Journal{}}
		for _, c := range calls {
			tx := &Tx{Tx: store.NewTx(gtx), db: gtx, accounts: accounts, deferred: w, cache: g.cache}
			if err := c.fn(tx); err != nil {
				return err
			}
		}
		return w.writeAll(gtx, accounts, l.db.MultiStatements)
	})
}

// accountCache keeps the accounts as the process's last group transactions committed
// them, so that a group reads an account again only when another transaction changed
// it: a group takes a cached row as if it had read it, and its version-checked update
// finds any change since (every change of a balance or a held amount moves the
// version), which fails the group; the group then drops its accounts from the cache
// and runs again, reading them. A refusal decided on a cached row fails the group
// too, and the call that was refused runs again alone, on a fresh read. Only rows a
// transaction committed enter the cache.
type accountCache struct {
	mu   sync.Mutex
	rows map[string]accountRow
}

// maxCachedAccounts bounds the cache; past it the cache starts again empty.
const maxCachedAccounts = 20000

func (c *accountCache) get(id string) (accountRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rows[id]
	return r, ok
}

// keep caches the accounts of a committed group, unless a newer version is cached.
func (c *accountCache) keep(accounts map[string]*accountState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rows)+len(accounts) > maxCachedAccounts {
		c.rows = make(map[string]accountRow, len(accounts))
	}
	for id, st := range accounts {
		if old, ok := c.rows[id]; !ok || old.Version < st.row.Version {
			c.rows[id] = st.row
		}
	}
}

// drop forgets the accounts of a group that failed.
func (c *accountCache) drop(accounts map[string]*accountState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range accounts {
		delete(c.rows, id)
	}
}

// errKeyPostedBefore fails a group one of whose keys an earlier transaction posted.
var errKeyPostedBefore = errors.New("a key of the group was posted before")

// deferred holds a group's journals and entries until they are written together.
type deferred struct {
	journals []journalRow
	entries  []entryRow
	// keys are the group's posted keys, answered Existing to a later call.
	keys map[string]Journal
}

func (d *deferred) add(j journalRow, entries []entryRow) {
	d.journals = append(d.journals, j)
	d.entries = append(d.entries, entries...)
	d.keys[j.IdempotencyKey] = Journal{ID: j.ID, Key: j.IdempotencyKey, CreatedAt: j.CreatedAt, Existing: true}
}

// writeAll writes the group at its end: what was deferred and the changed accounts
// (flushAccounts). Where the connection takes several statements per Exec (MySQL),
// the inserts and the update go in one round trip; the update comes last, so that the
// rows it changed are the Exec's answer.
func (d *deferred) writeAll(db *gorm.DB, accounts map[string]*accountState, multi bool) error {
	updates, rows := flushStmts(accounts)
	if !multi || len(updates) > 1 {
		if err := d.write(db); err != nil {
			return err
		}
		return flushAccounts(db, accounts)
	}
	stmts := append(append(journalStmts(d.journals), entryStmts(d.entries)...), updates...)
	if len(stmts) == 0 {
		return nil
	}
	var sql strings.Builder
	var args []any
	for i, st := range stmts {
		if i > 0 {
			sql.WriteString("; ")
		}
		sql.WriteString(st.sql)
		args = append(args, st.args...)
	}
	res := db.Exec(sql.String(), args...)
	if res.Error != nil {
		if store.IsDuplicate(res.Error) {
			return errKeyPostedBefore
		}
		return fmt.Errorf("write the group's %d journals and %d accounts: %w", len(d.journals), len(updates), res.Error)
	}
	if len(updates) == 1 && res.RowsAffected != rows[0] {
		return store.ErrConflict
	}
	d.journals, d.entries = nil, nil
	return nil
}

// write inserts what was deferred so far; a statement that reads entries or journals
// in the group's transaction calls it first.
func (d *deferred) write(db *gorm.DB) error {
	if len(d.journals) == 0 {
		return nil
	}
	if err := insertJournals(db, d.journals); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// A key posted before the group: its call finds it when it runs alone.
			return errKeyPostedBefore
		}
		return err
	}
	if err := insertEntries(db, d.entries); err != nil {
		return err
	}
	d.journals, d.entries = nil, nil
	return nil
}
