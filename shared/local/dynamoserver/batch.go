package dynamoserver

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// batchWrite is one request of a BatchWriteItem.
type batchWrite struct {
	t     *tableSchema
	raw   json.RawMessage
	put   item // nil for a delete
	key   item
	id    string
	claim *claim
	old   item
}

type batchWriteBody struct {
	PutRequest    *struct{ Item item }
	DeleteRequest *struct{ Key item }
}

// serveBatchWrite answers BatchWriteItem with DynamoDB's limits (1 to 25
// requests per table, 25 in all, no item twice, items of 400 KB, no empty
// keys). A request on an item that a transaction in flight holds is not
// performed: it comes back in UnprocessedItems, as requests DynamoDB could
// not perform do. Puts that drop an item from an index get its stale
// index entry removed (writes.go).
func (c *compat) serveBatchWrite(body []byte) reply {
	var req struct{ RequestItems map[string][]json.RawMessage }
	if json.Unmarshal(body, &req) != nil {
		return c.main(opBatchWriteItem, body)
	}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(req.RequestItems)) {
		n := len(req.RequestItems[name])
		if n == 0 || n > maxBatchWriteRequests {
			return batchWriteTooLong(name, n).reply()
		}
		total += n
	}
	if total > maxBatchWriteRequests {
		return validation(msgBatchWriteTooMany).reply()
	}
	writes, problem, ok := c.batchWrites(req.RequestItems)
	if !ok {
		return c.main(opBatchWriteItem, body) // minidyn reports what it cannot read
	}
	if problem != nil {
		return problem.reply()
	}
	var claimed, conflicted []*batchWrite
	for _, w := range writes {
		cl, conflict := c.items.acquire([]string{w.id}, claimWrite, c.detectConflicts())
		if conflict != nil {
			c.conflictCount.Add(1)
			conflicted = append(conflicted, w)
			continue
		}
		w.claim = cl
		claimed = append(claimed, w)
	}
	defer func() {
		for _, w := range claimed {
			w.claim.release()
		}
	}()
	slices.SortFunc(claimed, func(a, b *batchWrite) int { return strings.Compare(a.id, b.id) })
	for _, w := range claimed { // in id order, as every claim locks
		w.claim.lock()
	}
	return c.batchWrite(req.RequestItems, claimed, conflicted)
}

// batchWrites reads and checks the requests; ok is false when one names
// an unknown table or cannot be read.
func (c *compat) batchWrites(requests map[string][]json.RawMessage) ([]*batchWrite, *apiError, bool) {
	var writes []*batchWrite
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(requests)) {
		t := c.tables.get(name)
		if t == nil {
			return nil, nil, false
		}
		for _, raw := range requests[name] {
			var b batchWriteBody
			if json.Unmarshal(raw, &b) != nil || (b.PutRequest == nil) == (b.DeleteRequest == nil) {
				return nil, nil, false
			}
			w := &batchWrite{t: t, raw: raw}
			var problem *apiError
			if b.PutRequest != nil {
				w.put, w.key = b.PutRequest.Item, b.PutRequest.Item.pick(t.keys.names()...)
				problem = checkItem(t, w.put)
			} else {
				w.key = b.DeleteRequest.Key
				problem = checkKey(t, w.key)
			}
			if problem != nil {
				return nil, problem, true
			}
			var ok bool
			if w.id, ok = t.itemID(w.key); !ok {
				return nil, nil, false
			}
			if seen[w.id] {
				return nil, validation(msgDuplicateKeys), true
			}
			seen[w.id] = true
			writes = append(writes, w)
		}
	}
	return writes, nil, true
}

// batchWrite forwards the claimed requests, whose items are locked, and
// answers with the conflicted ones added to UnprocessedItems.
func (c *compat) batchWrite(requests map[string][]json.RawMessage, claimed, conflicted []*batchWrite) reply {
	var leaving []string // tables an item leaves an index of
	for _, w := range claimed {
		if len(w.t.indexes) == 0 {
			continue
		}
		var r reply
		if w.old, r = c.readItem(w.t, w.key); !r.ok() {
			return r
		}
		if w.put != nil && leavesIndex(w.t, w.old, w.put) {
			leaving = append(leaving, w.t.name)
		}
	}
	unprocessed := map[string][]json.RawMessage{}
	if len(claimed) > 0 {
		if len(leaving) > 0 {
			unlock := c.locks.write(leaving...)
			defer unlock()
		}
		r := c.main(opBatchWriteItem, map[string]any{"RequestItems": without(requests, conflicted)})
		if !r.ok() {
			return r
		}
		var resp struct{ UnprocessedItems map[string][]json.RawMessage }
		_ = json.Unmarshal(r.body, &resp)
		if resp.UnprocessedItems != nil {
			unprocessed = resp.UnprocessedItems
		}
		if r := c.afterBatch(claimed, unprocessed); !r.ok() {
			return r
		}
	}
	for _, w := range conflicted {
		unprocessed[w.t.name] = append(unprocessed[w.t.name], w.raw)
	}
	return encodeReply(map[string]any{"UnprocessedItems": unprocessed})
}

// afterBatch repairs the index entries of the items the batch's puts
// dropped from an index and notes the writes for the index lag; requests
// minidyn left unprocessed did nothing.
func (c *compat) afterBatch(claimed []*batchWrite, unprocessed map[string][]json.RawMessage) reply {
	skipped := map[string]bool{}
	for name, raws := range unprocessed {
		t := c.tables.get(name)
		for _, raw := range raws {
			var b batchWriteBody
			if t == nil || json.Unmarshal(raw, &b) != nil {
				continue
			}
			key := item{}
			if b.PutRequest != nil {
				key = b.PutRequest.Item
			} else if b.DeleteRequest != nil {
				key = b.DeleteRequest.Key
			}
			if id, ok := t.itemID(key); ok {
				skipped[id] = true
			}
		}
	}
	for _, w := range claimed {
		if skipped[w.id] {
			continue
		}
		if w.put != nil && leavesIndex(w.t, w.old, w.put) {
			if r := c.repair(w.t, w.key, w.old, w.put); !r.ok() {
				return r
			}
		}
		c.written(w.t, w.key, w.old, w.put)
	}
	return reply{status: http.StatusOK}
}

// without returns the requests less the conflicted ones.
func without(requests map[string][]json.RawMessage, conflicted []*batchWrite) map[string][]json.RawMessage {
	if len(conflicted) == 0 {
		return requests
	}
	out := map[string][]json.RawMessage{}
	for name, raws := range requests {
		for _, raw := range raws {
			if !slices.ContainsFunc(conflicted, func(w *batchWrite) bool { return w.t.name == name && bytes.Equal(w.raw, raw) }) {
				out[name] = append(out[name], raw)
			}
		}
	}
	return out
}
