package dynamoserver

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
)

// Action kinds of a TransactWriteItems.
const (
	actionPut            = "Put"
	actionUpdate         = "Update"
	actionDelete         = "Delete"
	actionConditionCheck = "ConditionCheck"
)

// transactAction is one action of a TransactWriteItems.
type transactAction struct {
	kind   string
	t      *tableSchema
	key    item
	item   item          // a Put's item
	update updateRequest // an Update's expression
	id     string
}

// actionBody is the part of an action the layer reads.
type actionBody struct {
	TableName string
	Item      item
	Key       item
}

// serveTransactWrite answers TransactWriteItems: DynamoDB's limits
// (1 to 100 actions, 4 MB, one action per item, items of 400 KB), then
// cancellation when an item is part of another transaction in flight,
// then the hold, then the transaction, evaluated on the shadow and stored
// in one minidyn transaction (writes.go explains why).
func (c *compat) serveTransactWrite(ctx context.Context, body []byte) reply {
	var req struct{ TransactItems []map[string]json.RawMessage }
	if json.Unmarshal(body, &req) != nil {
		return fixCancellation(c.main(opTransactWriteItems, body))
	}
	switch n := len(req.TransactItems); {
	case n == 0:
		return transactionEmpty().reply()
	case n > maxTransactionActions:
		return transactionTooLong(n).reply()
	}
	actions, problem, ok := c.transactActions(req.TransactItems)
	if !ok {
		return fixCancellation(c.main(opTransactWriteItems, body)) // minidyn reports what it cannot read
	}
	if problem != nil {
		return problem.reply()
	}
	ids := make([]string, len(actions))
	for i, a := range actions {
		ids[i] = a.id
	}
	cl, conflicts := c.items.acquire(ids, claimTransaction, c.detectConflicts())
	if conflicts != nil {
		c.conflictCount.Add(1)
		return cancelled(conflictReasons(conflicts)).reply()
	}
	c.transactionsInFlight.Add(1)
	defer c.transactionsInFlight.Add(-1)
	defer cl.release()
	c.hold.wait(ctx, actions)
	cl.lock()
	return c.transact(actions, body)
}

// transactActions reads and checks the actions; ok is false when one
// names an unknown table or cannot be read (minidyn then answers).
func (c *compat) transactActions(raw []map[string]json.RawMessage) ([]transactAction, *apiError, bool) {
	actions := make([]transactAction, 0, len(raw))
	size := 0
	for _, entry := range raw {
		if len(entry) != 1 {
			return nil, nil, false
		}
		var a transactAction
		var b actionBody
		for kind, v := range entry {
			if json.Unmarshal(v, &b) != nil || json.Unmarshal(v, &a.update) != nil {
				return nil, nil, false
			}
			a.kind = kind
		}
		if a.t = c.tables.get(b.TableName); a.t == nil {
			return nil, nil, false
		}
		a.key, a.item = b.Key, b.Item
		problem := checkKey(a.t, b.Key)
		if a.kind == actionPut {
			a.key, problem = b.Item.pick(a.t.keys.names()...), checkItem(a.t, b.Item)
		}
		if problem != nil {
			return nil, problem, true
		}
		var ok bool
		if a.id, ok = a.t.itemID(a.key); !ok {
			return nil, nil, false
		}
		if slices.ContainsFunc(actions, func(o transactAction) bool { return o.id == a.id }) {
			return nil, validation(msgSameItemTwice), true
		}
		size += itemSize(a.key) + itemSize(a.item)
		actions = append(actions, a)
	}
	if size > maxTransactionBytes {
		return nil, validation(msgTransactionTooBig), true
	}
	return actions, nil, true
}

// transact runs a transaction whose items are locked: it loads them into
// the shadow, runs the transaction there (conditions, updates,
// cancellation reasons), checks the updated items, and stores the
// outcome.
func (c *compat) transact(actions []transactAction, body []byte) reply {
	defer func() {
		for _, a := range actions {
			c.unload(a.t, a.key)
		}
	}()
	olds := make([]item, len(actions))
	for i, a := range actions {
		old, r := c.readItem(a.t, a.key)
		if !r.ok() {
			return r
		}
		if r := c.load(a.t, a.key, old); !r.ok() {
			return r
		}
		olds[i] = old
	}
	r := fixCancellation(c.shadowCall(opTransactWriteItems, body))
	if !r.ok() {
		return r
	}
	imgs, failed := c.outcomes(actions, olds)
	if failed != nil {
		return *failed
	}
	if stored := c.storeTransaction(actions, olds, imgs); !stored.ok() {
		return stored
	}
	for i, a := range actions {
		if a.kind != actionConditionCheck {
			c.written(a.t, a.key, olds[i], imgs[i])
		}
	}
	return r
}

// outcomes returns each action's resulting item, reading updates back from
// the shadow; an update grown over 400 KB cancels the transaction, as in
// DynamoDB, and one emptying an index key is refused.
func (c *compat) outcomes(actions []transactAction, olds []item) ([]item, *reply) {
	imgs := make([]item, len(actions))
	for i, a := range actions {
		switch a.kind {
		case actionPut:
			imgs[i] = a.item
		case actionConditionCheck:
			imgs[i] = olds[i]
		case actionUpdate:
			img, r := c.readShadow(a.t, a.key)
			if !r.ok() {
				return nil, &r
			}
			img = applyRemoves(img, a.update)
			if problem := checkUpdated(a.t, img); problem != nil {
				if problem.message == msgUpdateTooLarge {
					problem = cancelledAt(len(actions), i, cancellationReason{Code: reasonValidationError, Message: msgUpdateTooLarge})
				}
				failed := problem.reply()
				return nil, &failed
			}
			imgs[i] = img
		}
	}
	return imgs, nil
}

// storeTransaction stores a transaction's outcome in one minidyn
// transaction. An item leaving an index is deleted in it and put after
// it, with its table locked alone meanwhile (writes.go).
func (c *compat) storeTransaction(actions []transactAction, olds, imgs []item) reply {
	var steps []map[string]any
	var putAfter []int
	var lockTables []string
	for i, a := range actions {
		switch {
		case a.kind == actionConditionCheck:
		case imgs[i] == nil || leavesIndex(a.t, olds[i], imgs[i]):
			steps = append(steps, map[string]any{actionDelete: keyRequest{TableName: a.t.name, Key: a.key}})
			if imgs[i] != nil {
				putAfter, lockTables = append(putAfter, i), append(lockTables, a.t.name)
			}
		default:
			steps = append(steps, map[string]any{actionPut: itemRequest{TableName: a.t.name, Item: imgs[i]}})
		}
	}
	if len(steps) == 0 {
		return reply{status: http.StatusOK}
	}
	if len(lockTables) > 0 {
		unlock := c.locks.write(lockTables...)
		defer unlock()
	}
	if r := c.main(opTransactWriteItems, map[string]any{"TransactItems": steps}); !r.ok() {
		return fixCancellation(r)
	}
	for _, i := range putAfter {
		if r := c.main(opPutItem, itemRequest{TableName: actions[i].t.name, Item: imgs[i]}); !r.ok() {
			return r
		}
	}
	return reply{status: http.StatusOK}
}
