package cache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is an in-process Cache: a map bounded to a number of entries, the least
// recently used evicted first, each entry dropped once its TTL has passed. It is for
// a single process (make run, tests); replicas do not share it. Safe for concurrent
// use.
type Memory struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	// lru holds *memoryEntry, most recently used at the front.
	lru *list.List
	now func() time.Time
}

type memoryEntry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns a Memory of at most maxEntries entries (at least 1).
func NewMemory(maxEntries int) *Memory {
	return &Memory{max: max(maxEntries, 1), entries: map[string]*list.Element{}, lru: list.New(), now: time.Now}
}

// Get returns a copy of key's value, so that a caller changing it changes nothing
// cached (as with Redis).
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*memoryEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.lru.MoveToFront(el)
	return append([]byte{}, e.value...), true, nil
}

// Set stores a copy of value.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &memoryEntry{key: key, value: append([]byte{}, value...), expires: m.now().Add(ttl)}
	if el, ok := m.entries[key]; ok {
		el.Value = e
		m.lru.MoveToFront(el)
		return nil
	}
	m.entries[key] = m.lru.PushFront(e)
	for m.lru.Len() > m.max {
		m.remove(m.lru.Back())
	}
	return nil
}

func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.remove(el)
	}
	return nil
}

func (m *Memory) remove(el *list.Element) {
	m.lru.Remove(el)
	delete(m.entries, el.Value.(*memoryEntry).key)
}

// Len is the number of entries held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

func (m *Memory) Ping(context.Context) error { return nil }
func (m *Memory) Name() string               { return "memory" }
