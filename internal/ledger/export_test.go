package ledger

// GroupQueued is how many Run calls wait in the group queue.
func GroupQueued(l *Ledger) int {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	return len(l.group.queue)
}

// GroupCounts are the group transactions run, the calls they took and the calls
// that ran again alone.
func GroupCounts(l *Ledger) (groups, grouped, alone int64) {
	return l.group.groups.Load(), l.group.grouped.Load(), l.group.alone.Load()
}

// GroupSlots is how many group transactions may run at once (0: grouping is off).
func GroupSlots(l *Ledger) int {
	if l.group == nil {
		return 0
	}
	return cap(l.group.slots)
}
