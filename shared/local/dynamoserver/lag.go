package dynamoserver

import (
	"sync"
	"time"
)

// Index lag. DynamoDB updates global secondary indexes asynchronously: a
// query on one may not yet show a write the table already shows. With a
// lag d set (Server.SetIndexLag), a Query or Scan on a global secondary
// index sees each item as it stood d ago: an item first written less than
// d ago is missing, an item changed less than d ago appears as it was
// before (if it was in the index and, for a Query, matched the key
// condition then), and an item deleted less than d ago still appears. The
// table itself, and local secondary indexes, stay current.

// pastWrite is one write to an item: when, and the item before it (nil:
// it did not exist).
type pastWrite struct {
	at     time.Time
	before item
}

// itemHistory is an item's writes within the lag, oldest first.
type itemHistory struct {
	table  string
	writes []pastWrite
}

type lagHistory struct {
	mu    sync.Mutex
	items map[string]*itemHistory
	// streams are the tables' change logs (stream.go): the other history
	// of writes that written keeps.
	streams streamSet
}

// record notes a write at `at` that replaced before.
func (h *lagHistory) record(table, id string, before item, at time.Time, lag time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ih := h.items[id]
	if ih == nil {
		ih = &itemHistory{table: table}
		h.items[id] = ih
	}
	ih.writes = append(prune(ih.writes, at.Add(-lag)), pastWrite{at: at, before: before})
}

// prune drops the writes made at or before cutoff, which every index
// already shows.
func prune(writes []pastWrite, cutoff time.Time) []pastWrite {
	i := 0
	for i < len(writes) && !writes[i].at.After(cutoff) {
		i++
	}
	return writes[i:]
}

// lagging returns, by item id, the items of table written after cutoff
// and what a lagging index still shows of each: the item as it stood
// before its first write after the cutoff (nil: nothing).
func (h *lagHistory) lagging(table string, cutoff time.Time) map[string]item {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]item{}
	for id, ih := range h.items {
		ih.writes = prune(ih.writes, cutoff)
		if len(ih.writes) == 0 {
			delete(h.items, id)
			continue
		}
		if ih.table == table {
			out[id] = ih.writes[0].before
		}
	}
	return out
}

func (h *lagHistory) forgetTable(table string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, ih := range h.items {
		if ih.table == table {
			delete(h.items, id)
		}
	}
}

func (h *lagHistory) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = map[string]*itemHistory{}
}

// written notes that the data now holds img (nil: nothing) where it held
// old (nil: nothing, or not read on a table without indexes), for the
// table's stream and the index lag. Every write the layer stores calls it
// once per item, holding the item's lock.
func (c *compat) written(t *tableSchema, key, old, img item) {
	if s := c.history.streams.of(t.name); s != nil {
		s.record(t, key, old, img, c.now())
	}
	lag := time.Duration(c.lag.Load())
	if lag <= 0 || !t.hasGlobalIndexes() || (old == nil && img == nil) {
		return
	}
	if id, ok := t.itemID(key); ok {
		c.history.record(t.name, id, old, c.now(), lag)
	}
}
