package dynamoserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Writes and minidyn's indexes.
//
// minidyn keeps each secondary index as a sorted list of index keys beside
// a map from item to index key, and three of its write paths break them:
//   - an UpdateItem that gives an item its first key in an index that
//     already has entries overwrites the index's first entry, after which
//     queries on that index skip items or return nothing;
//   - a PutItem or UpdateItem whose item no longer has an index's key
//     attributes leaves the item's old entry behind, where DynamoDB drops
//     the item from that (sparse) index;
//   - only DeleteItem removes entries, and only correctly while the stored
//     item still has the key the entry was made from.
// So minidyn never runs an UpdateItem on the data: the layer evaluates
// writes whose outcome it must know on a shadow minidyn (same tables,
// loaded with the item as it stands) and stores the result with a plain
// PutItem, whose index upkeep is right. When the result leaves an index,
// the layer deletes the stored item (dropping its entries while they
// still match it) and puts the result, holding the table's lock alone so
// that no read sees the item missing meanwhile.

// writeRequest is the part of PutItem, UpdateItem and DeleteItem the
// layer reads.
type writeRequest struct {
	TableName string
	Item      item
	Key       item
}

// serveWrite answers PutItem, UpdateItem and DeleteItem.
func (c *compat) serveWrite(op string, body []byte) reply {
	var req writeRequest
	if json.Unmarshal(body, &req) != nil {
		return c.main(op, body)
	}
	t := c.tables.get(req.TableName)
	if t == nil {
		return c.main(op, body)
	}
	key, problem := req.Key, checkKey(t, req.Key)
	if op == opPutItem {
		key, problem = req.Item.pick(t.keys.names()...), checkItem(t, req.Item)
	}
	if problem != nil {
		return problem.reply()
	}
	id, ok := t.itemID(key)
	if !ok {
		return c.main(op, body) // minidyn reports the malformed key
	}
	cl, conflict := c.items.acquire([]string{id}, claimWrite, c.detectConflicts())
	if conflict != nil {
		c.conflictCount.Add(1)
		return transactionConflict().reply()
	}
	defer cl.release()
	cl.lock()
	return c.writeItem(op, t, key, req.Item, body)
}

// writeItem performs one write while the item's lock is held.
func (c *compat) writeItem(op string, t *tableSchema, key, newItem item, body []byte) reply {
	var old item
	if op == opUpdateItem || len(t.indexes) > 0 {
		var r reply
		if old, r = c.readItem(t, key); !r.ok() {
			return r
		}
	}
	if op == opUpdateItem || (op == opPutItem && leavesIndex(t, old, newItem)) {
		return c.writeThroughShadow(op, t, key, old, newItem, body)
	}
	r := c.main(op, body)
	if r.ok() {
		if op == opDeleteItem {
			newItem = nil
		}
		c.written(t, key, old, newItem)
	}
	return r
}

// writeThroughShadow evaluates a PutItem or UpdateItem (its condition, its
// update, its return values) on the shadow holding the item as it stands,
// then stores the outcome.
func (c *compat) writeThroughShadow(op string, t *tableSchema, key, old, newItem item, body []byte) reply {
	if r := c.load(t, key, old); !r.ok() {
		return r
	}
	defer c.unload(t, key)
	r := c.shadowCall(op, body)
	if !r.ok() {
		return r
	}
	if op == opUpdateItem {
		var u updateRequest
		_ = json.Unmarshal(body, &u)
		var rr reply
		if newItem, rr = c.readShadow(t, key); !rr.ok() {
			return rr
		}
		newItem = applyRemoves(newItem, u)
		if problem := checkUpdated(t, newItem); problem != nil {
			return problem.reply()
		}
		r = updateReturnValues(r, u.ReturnValues, old, newItem)
	}
	if stored := c.store(t, key, old, newItem); !stored.ok() {
		return stored
	}
	c.written(t, key, old, newItem)
	return r
}

// leavesIndex reports whether replacing old by img drops the item from an
// index it was in.
func leavesIndex(t *tableSchema, old, img item) bool {
	if old == nil {
		return false
	}
	return slices.ContainsFunc(t.indexes, func(ix indexSchema) bool { return inIndex(old, &ix) && !inIndex(img, &ix) })
}

// store makes the data hold img (nil: nothing) under key, where it held
// old, keeping minidyn's indexes right.
func (c *compat) store(t *tableSchema, key, old, img item) reply {
	if img == nil {
		return c.main(opDeleteItem, keyRequest{TableName: t.name, Key: key})
	}
	if !leavesIndex(t, old, img) {
		return c.main(opPutItem, itemRequest{TableName: t.name, Item: img})
	}
	unlock := c.locks.write(t.name)
	defer unlock()
	if r := c.main(opDeleteItem, keyRequest{TableName: t.name, Key: key}); !r.ok() {
		return r
	}
	return c.main(opPutItem, itemRequest{TableName: t.name, Item: img})
}

// repair fixes minidyn's index entries after it stored img over old with
// a plain PutItem that dropped the item from an index (BatchWriteItem's
// puts): it gives the item back its old index keys, so that deleting it
// drops the stale entries, and puts img again. The caller holds the
// table's lock alone.
func (c *compat) repair(t *tableSchema, key, old, img item) reply {
	restored := img.clone()
	for _, ix := range t.indexes {
		if inIndex(old, &ix) && !inIndex(img, &ix) {
			for _, n := range ix.keys.names() {
				restored[n] = old[n]
			}
		}
	}
	for _, step := range []struct {
		op string
		in any
	}{
		{opPutItem, itemRequest{TableName: t.name, Item: restored}},
		{opDeleteItem, keyRequest{TableName: t.name, Key: key}},
		{opPutItem, itemRequest{TableName: t.name, Item: img}},
	} {
		if r := c.main(step.op, step.in); !r.ok() {
			return r
		}
	}
	return reply{status: http.StatusOK}
}

// load makes the shadow hold old (nil: nothing) under key.
func (c *compat) load(t *tableSchema, key, old item) reply {
	if old == nil {
		return c.shadowCall(opDeleteItem, keyRequest{TableName: t.name, Key: key})
	}
	return c.shadowCall(opPutItem, itemRequest{TableName: t.name, Item: old})
}

// unload empties the shadow of the item under key once its write is
// evaluated: the shadow holds only the items being written, so loading
// one never costs minidyn a sort of every key the table ever had.
func (c *compat) unload(t *tableSchema, key item) {
	c.shadowCall(opDeleteItem, keyRequest{TableName: t.name, Key: key})
}

// readItem reads an item from the data, strongly consistent; nil when
// there is none.
func (c *compat) readItem(t *tableSchema, key item) (item, reply) {
	return readFrom(c.main, t, key)
}

// readShadow reads an item from the shadow.
func (c *compat) readShadow(t *tableSchema, key item) (item, reply) {
	return readFrom(c.shadowCall, t, key)
}

func readFrom(get func(op string, in any) reply, t *tableSchema, key item) (item, reply) {
	key = key.pick(t.keys.names()...)
	r := get(opGetItem, keyRequest{TableName: t.name, Key: key, ConsistentRead: true})
	if !r.ok() {
		return nil, r
	}
	var out struct{ Item json.RawMessage }
	if err := json.Unmarshal(r.body, &out); err != nil {
		return nil, validation("cannot read item: " + err.Error()).reply()
	}
	it, err := decodeItem(out.Item)
	if err != nil {
		return nil, validation("cannot read item: " + err.Error()).reply()
	}
	resolveBlanks(get, t, key, it)
	return it, r
}

// emptyValues are the values minidyn's encoder blanks: it writes an empty
// list, map or binary as {} (its fields are "omitempty").
var emptyValues = map[string]json.RawMessage{
	"L": json.RawMessage(`{"L":[]}`),
	"M": json.RawMessage(`{"M":{}}`),
	"B": json.RawMessage(`{"B":""}`),
}

// resolveBlanks restores the type of each top-level attribute minidyn
// answered as {}, asking minidyn which type it holds (a Query for the item
// filtered on attribute_type; not a failing ConditionCheck, whose rollback
// would itself blank such values), so that the layer's read-modify-write
// does not turn an empty map into an empty list or a typeless value.
func resolveBlanks(get func(op string, in any) reply, t *tableSchema, key, it item) {
	for name, raw := range it {
		if _, _, ok := valueOf(raw); ok {
			continue
		}
		for _, typ := range []string{"L", "M", "B"} {
			if itemHasType(get, t, key, name, typ) {
				it[name] = emptyValues[typ]
				break
			}
		}
	}
}

// itemHasType reports whether attribute name of the item under key has
// type typ.
func itemHasType(get func(op string, in any) reply, t *tableSchema, key item, name, typ string) bool {
	names := map[string]string{"#a": name}
	values := item{":t": json.RawMessage(`{"S":"` + typ + `"}`)}
	var conds []string
	for i, n := range t.keys.names() {
		p := fmt.Sprintf("k%d", i)
		names["#"+p], values[":"+p] = n, key[n]
		conds = append(conds, "#"+p+" = :"+p)
	}
	r := get(opQuery, map[string]any{
		"TableName": t.name, "KeyConditionExpression": strings.Join(conds, " AND "),
		"FilterExpression": "attribute_type(#a, :t)", "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
	})
	var out struct{ Count int }
	return r.ok() && json.Unmarshal(r.body, &out) == nil && out.Count == 1
}
