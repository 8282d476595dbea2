package dynamoserver

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DynamoDB does not lock items for a transaction: it refuses what overlaps
// one ("Transaction conflict handling" in its developer guide):
//   - a TransactWriteItems touching an item another in-flight
//     TransactWriteItems holds is cancelled (TransactionConflict);
//   - a PutItem, UpdateItem or DeleteItem on such an item fails with
//     TransactionConflictException;
//   - a TransactGetItems reading an item that an in-flight write of any
//     kind touches is cancelled (TransactionConflict).
// The registry below tracks which items in-flight requests touch so the
// layer can answer the same. It also gives each item a mutex under which
// the layer does its own read-modify-write of that item (see writes.go):
// requests on different items never wait for each other.

// claimKind says what a request does with the items it claims.
type claimKind int

const (
	claimTransaction claimKind = iota // TransactWriteItems
	claimWrite                        // PutItem, UpdateItem, DeleteItem, one BatchWriteItem request
	claimRead                         // TransactGetItems
)

type itemEntry struct {
	transactions int // in-flight TransactWriteItems holding the item
	writes       int // in-flight single-item and batch writes
	refs         int // claims that hold this entry
	mu           sync.Mutex
}

type itemRegistry struct {
	mu      sync.Mutex
	entries map[string]*itemEntry
}

// claim is a request's hold on some items, released once it is answered.
type claim struct {
	reg    *itemRegistry
	ids    []string // sorted, distinct
	kind   claimKind
	locked bool
}

// conflicts reports, for each id, whether a request of this kind on it
// conflicts with the requests in flight; the caller holds r.mu.
func (r *itemRegistry) conflicts(ids []string, kind claimKind) ([]bool, bool) {
	out := make([]bool, len(ids))
	hit := false
	for i, id := range ids {
		e := r.entries[id]
		if e == nil {
			continue
		}
		out[i] = e.transactions > 0 || (kind == claimRead && e.writes > 0)
		hit = hit || out[i]
	}
	return out, hit
}

// acquire registers a request of kind on ids. With detect, a request that
// conflicts with one in flight is not registered: acquire returns a nil
// claim and, for each id (in the order given), whether it conflicts.
func (r *itemRegistry) acquire(ids []string, kind claimKind, detect bool) (*claim, []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if detect {
		if found, hit := r.conflicts(ids, kind); hit {
			return nil, found
		}
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range sorted {
		e := r.entries[id]
		if e == nil {
			e = &itemEntry{}
			r.entries[id] = e
		}
		e.refs++
		switch kind {
		case claimTransaction:
			e.transactions++
		case claimWrite:
			e.writes++
		}
	}
	return &claim{reg: r, ids: sorted, kind: kind}, nil
}

// lock takes the items' mutexes, in id order so that two claims never
// wait for each other in a cycle.
func (c *claim) lock() {
	c.reg.mu.Lock()
	entries := make([]*itemEntry, len(c.ids))
	for i, id := range c.ids {
		entries[i] = c.reg.entries[id]
	}
	c.reg.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
	}
	c.locked = true
}

// release unlocks and unregisters the claim; it is safe on a nil claim.
func (c *claim) release() {
	if c == nil {
		return
	}
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	for _, id := range c.ids {
		e := c.reg.entries[id]
		if c.locked {
			e.mu.Unlock()
		}
		switch c.kind {
		case claimTransaction:
			e.transactions--
		case claimWrite:
			e.writes--
		}
		if e.refs--; e.refs == 0 {
			delete(c.reg.entries, id)
		}
	}
}

// transactionHold delays every TransactWriteItems between registering its
// items and applying them, so tests can make requests overlap at will.
// Changing the hold releases the transactions waiting in it.
type transactionHold struct {
	held    atomic.Int64 // transactions waiting in the hold now
	mu      sync.Mutex
	d       time.Duration
	match   func(HeldAction) bool // nil: every transaction
	changed chan struct{}
}

// HeldAction is one action of a transaction, as a hold's filter sees it:
// the table and the string attributes of the item's key.
type HeldAction struct {
	Table string
	Key   map[string]string
}

func (h *transactionHold) set(d time.Duration, match func(HeldAction) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d, h.match = d, match
	if h.changed != nil {
		close(h.changed)
	}
	h.changed = make(chan struct{})
}

// applies reports whether the hold's filter takes a transaction.
func (h *transactionHold) applies(actions []transactAction) bool {
	h.mu.Lock()
	match := h.match
	h.mu.Unlock()
	if match == nil {
		return true
	}
	for _, a := range actions {
		key := map[string]string{}
		for name, raw := range a.key {
			var v struct{ S *string }
			if json.Unmarshal(raw, &v) == nil && v.S != nil {
				key[name] = *v.S
			}
		}
		if match(HeldAction{Table: a.t.name, Key: key}) {
			return true
		}
	}
	return false
}

func (h *transactionHold) wait(ctx context.Context, actions []transactAction) {
	h.mu.Lock()
	d, changed := h.d, h.changed
	h.mu.Unlock()
	if d <= 0 || !h.applies(actions) {
		return
	}
	h.held.Add(1)
	defer h.held.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-changed:
	case <-ctx.Done():
	}
}
