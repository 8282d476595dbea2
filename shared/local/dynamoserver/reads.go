package dynamoserver

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
)

// serveGetItem answers GetItem: it refuses empty key values and reads
// while no write is rebuilding an index entry of the table (writes.go).
func (c *compat) serveGetItem(body []byte) reply {
	var req writeRequest
	if json.Unmarshal(body, &req) != nil {
		return c.main(opGetItem, body)
	}
	t := c.tables.get(req.TableName)
	if t == nil {
		return c.main(opGetItem, body)
	}
	if problem := checkKey(t, req.Key); problem != nil {
		return problem.reply()
	}
	unlock := c.locks.read(t.name)
	defer unlock()
	r := c.main(opGetItem, body)
	var out struct{ Item item }
	if !r.ok() || json.Unmarshal(r.body, &out) != nil || !c.unblank(t, req.Key, out.Item) {
		return r
	}
	return encodeReply(out)
}

// unblank restores the values minidyn blanked in an item read from the
// data (see resolveBlanks); it reports whether there were any.
func (c *compat) unblank(t *tableSchema, key, it item) bool {
	blank := false
	for _, raw := range it {
		if _, _, ok := valueOf(raw); !ok {
			blank = true
		}
	}
	key = key.pick(t.keys.names()...)
	if !blank || len(key) != len(t.keys.names()) {
		return false
	}
	resolveBlanks(c.main, t, key, it)
	return true
}

// encodeReply answers v as JSON.
func encodeReply(v any) reply {
	body, err := json.Marshal(v)
	if err != nil {
		return validation(err.Error()).reply()
	}
	return reply{status: http.StatusOK, body: body}
}

type batchGetRequest struct {
	RequestItems map[string]struct{ Keys []item }
}

// serveBatchGet answers BatchGetItem with DynamoDB's limits: at most 100
// keys, none twice, and a response of at most 16 MB, the items beyond it
// returned in UnprocessedKeys.
func (c *compat) serveBatchGet(body []byte) reply {
	var req batchGetRequest
	if json.Unmarshal(body, &req) != nil {
		return c.main(opBatchGetItem, body)
	}
	names := slices.Sorted(maps.Keys(req.RequestItems))
	total := 0
	for _, name := range names {
		n := len(req.RequestItems[name].Keys)
		if n > maxBatchGetKeys {
			return batchGetTooLong(name).reply()
		}
		total += n
	}
	if total > maxBatchGetKeys {
		return validation(msgBatchGetTooMany).reply()
	}
	for _, name := range names {
		t := c.tables.get(name)
		if t == nil {
			return c.main(opBatchGetItem, body) // minidyn reports the missing table
		}
		if problem := checkKeys(t, req.RequestItems[name].Keys, msgDuplicateKeys); problem != nil {
			return problem.reply()
		}
	}
	unlock := c.locks.read(names...)
	defer unlock()
	r := c.main(opBatchGetItem, body)
	if !r.ok() {
		return r
	}
	return c.limitBatchGet(r, body)
}

// checkKeys refuses empty key values and, with duplicate's message, a key
// given twice.
func checkKeys(t *tableSchema, keys []item, duplicate string) *apiError {
	seen := map[string]bool{}
	for _, key := range keys {
		if problem := checkKey(t, key); problem != nil {
			return problem
		}
		if id, ok := t.itemID(key); ok {
			if seen[id] {
				return validation(duplicate)
			}
			seen[id] = true
		}
	}
	return nil
}

// limitBatchGet moves the items beyond 16 MB of response to
// UnprocessedKeys, with the request's other parameters for their table.
func (c *compat) limitBatchGet(r reply, body []byte) reply {
	var resp struct {
		Responses       map[string][]item
		UnprocessedKeys map[string]map[string]json.RawMessage
	}
	if json.Unmarshal(r.body, &resp) != nil {
		return r
	}
	size, blanks := 0, false
	moved := map[string][]item{}
	for _, name := range slices.Sorted(maps.Keys(resp.Responses)) {
		t := c.tables.get(name)
		if t == nil {
			continue
		}
		kept := []item{}
		for _, it := range resp.Responses[name] {
			blanks = c.unblank(t, it, it) || blanks
			size += itemSize(it)
			if key := it.pick(t.keys.names()...); size > maxBatchGetBytes && len(key) == len(t.keys.names()) {
				moved[name] = append(moved[name], key)
				continue
			}
			kept = append(kept, it)
		}
		resp.Responses[name] = kept
	}
	if len(moved) == 0 && !blanks {
		return r
	}
	var req struct {
		RequestItems map[string]map[string]json.RawMessage
	}
	_ = json.Unmarshal(body, &req)
	if resp.UnprocessedKeys == nil {
		resp.UnprocessedKeys = map[string]map[string]json.RawMessage{}
	}
	for name, keys := range moved {
		params := resp.UnprocessedKeys[name]
		if params == nil {
			params = maps.Clone(req.RequestItems[name])
			delete(params, "Keys")
		}
		var earlier []item
		_ = json.Unmarshal(params["Keys"], &earlier)
		params["Keys"], _ = json.Marshal(append(earlier, keys...))
		resp.UnprocessedKeys[name] = params
	}
	return encodeReply(resp)
}

type transactGetRequest struct {
	TransactItems []struct {
		Get *struct {
			TableName string
			Key       item
		}
	}
}

// serveTransactGet answers TransactGetItems: at most 100 items, none
// twice, cancelled when an item is part of a write in flight, and read
// consistently (no write lands on its items while it reads).
func (c *compat) serveTransactGet(body []byte) reply {
	var req transactGetRequest
	if json.Unmarshal(body, &req) != nil {
		return c.main(opTransactGetItems, body)
	}
	switch n := len(req.TransactItems); {
	case n == 0:
		return transactionEmpty().reply()
	case n > maxTransactionActions:
		return transactionTooLong(n).reply()
	}
	ids, tables := []string{}, []string{}
	for _, ti := range req.TransactItems {
		if ti.Get == nil {
			return c.main(opTransactGetItems, body)
		}
		t := c.tables.get(ti.Get.TableName)
		if t == nil {
			return c.main(opTransactGetItems, body)
		}
		if problem := checkKey(t, ti.Get.Key); problem != nil {
			return problem.reply()
		}
		id, ok := t.itemID(ti.Get.Key)
		if !ok {
			return c.main(opTransactGetItems, body)
		}
		if slices.Contains(ids, id) {
			return validation(msgSameItemTwice).reply()
		}
		ids, tables = append(ids, id), append(tables, t.name)
	}
	cl, conflicts := c.items.acquire(ids, claimRead, c.detectConflicts())
	if conflicts != nil {
		c.conflictCount.Add(1)
		return cancelled(conflictReasons(conflicts)).reply()
	}
	defer cl.release()
	cl.lock()
	unlock := c.locks.read(tables...)
	defer unlock()
	r := c.main(opTransactGetItems, body)
	var resp struct{ Responses []struct{ Item item } }
	if !r.ok() || json.Unmarshal(r.body, &resp) != nil || len(resp.Responses) != len(req.TransactItems) {
		return r
	}
	size, blanks := 0, false
	for i, ir := range resp.Responses {
		get := req.TransactItems[i].Get
		blanks = c.unblank(c.tables.get(get.TableName), get.Key, ir.Item) || blanks
		size += itemSize(ir.Item)
	}
	if size > maxTransactionBytes {
		return validation(msgTransactionTooBig).reply()
	}
	if !blanks {
		return r
	}
	return encodeReply(resp)
}

// conflictReasons are the cancellation reasons of a transaction whose
// items conflict where found says.
func conflictReasons(found []bool) []cancellationReason {
	reasons := noneReasons(len(found))
	for i, hit := range found {
		if hit {
			reasons[i] = cancellationReason{Code: reasonConflict, Message: msgTransactionOngoing}
		}
	}
	return reasons
}
