package ledger

// GroupQueued is how many Run calls wait in the group queue.
func GroupQueued(l *Ledger) int {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	return len(l.group.queue)
}

// GroupSlots is how many group transactions may run at once (0: grouping is off).
func GroupSlots(l *Ledger) int {
	if l.group == nil {
		return 0
	}
	return cap(l.group.slots)
}
