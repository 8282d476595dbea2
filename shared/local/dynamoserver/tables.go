package dynamoserver

import (
	"encoding/json"
	"slices"
	"sync"
)

// Table statuses as DynamoDB reports them.
const (
	statusActive   = "ACTIVE"
	statusCreating = "CREATING"
	statusDeleting = "DELETING"
)

// serveTableOp answers CreateTable, UpdateTable, DeleteTable and
// DescribeTable, exclusively of every other call into minidyn, keeps the
// layer's catalogue and the shadow's tables in step, and fills in the
// statuses and ARNs minidyn leaves out. CreateTable answers CREATING, as
// DynamoDB does, while DescribeTable answers ACTIVE: code must wait for
// the table (the SDK's table-exists waiter) as it must in AWS.
func (c *compat) serveTableOp(op string, body []byte) reply {
	c.ddl.Lock()
	defer c.ddl.Unlock()
	r := call(c.next, op, body)
	if !r.ok() {
		return r
	}
	status := statusActive
	switch op {
	case opCreateTable:
		c.tables.created(body)
		call(c.shadow, op, withoutIndexes(body))
		status = statusCreating
	case opUpdateTable:
		c.tables.updated(body)
		call(c.shadow, op, withoutIndexes(body))
	case opDeleteTable:
		var req struct{ TableName string }
		_ = json.Unmarshal(body, &req)
		c.tables.deleted(req.TableName)
		c.history.forgetTable(req.TableName)
		call(c.shadow, op, body)
		status = statusDeleting
	}
	if fixed, err := fillDescription(r.body, status); err == nil {
		r.body = fixed
	}
	return r
}

// withoutIndexes is a table definition or update without its secondary
// indexes, for the shadow: it only evaluates writes (conditions, update
// expressions, return values) and never answers a query, while minidyn
// re-sorts an index's keys on every write to it, which made the shadow
// cost as much as the table itself on tables of thousands of items.
func withoutIndexes(body []byte) []byte {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return body
	}
	for _, k := range []string{"GlobalSecondaryIndexes", "LocalSecondaryIndexes", "GlobalSecondaryIndexUpdates"} {
		delete(req, k)
	}
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

// fillDescription adds the status and ARN fields minidyn leaves out.
func fillDescription(body []byte, status string) ([]byte, error) {
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	for _, key := range []string{"Table", "TableDescription"} {
		raw, ok := resp[key]
		if !ok {
			continue
		}
		fixed, err := fillTable(raw, status)
		if err != nil {
			return nil, err
		}
		resp[key] = fixed
	}
	return json.Marshal(resp)
}

// fillTable fills one table description: the table's status and ARN and
// each global secondary index's. A table being created reports its
// indexes as being created too; otherwise minidyn's index status stands.
func fillTable(raw json.RawMessage, status string) (json.RawMessage, error) {
	var desc map[string]any
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, err
	}
	name, _ := desc["TableName"].(string)
	arn := "arn:aws:dynamodb:us-east-1:000000000000:table/" + name
	desc["TableStatus"] = status
	setDefault(desc, "TableArn", arn)
	gsis, _ := desc["GlobalSecondaryIndexes"].([]any)
	for _, g := range gsis {
		if ix, ok := g.(map[string]any); ok {
			ixName, _ := ix["IndexName"].(string)
			if status == statusCreating {
				ix["IndexStatus"] = statusCreating
			}
			setDefault(ix, "IndexStatus", statusActive)
			setDefault(ix, "IndexArn", arn+"/index/"+ixName)
		}
	}
	return json.Marshal(desc)
}

// setDefault sets m[key] to v unless it already has a value.
func setDefault(m map[string]any, key string, v any) {
	if m[key] == nil || m[key] == "" {
		m[key] = v
	}
}

// tableLocks gives each table a lock that reads share and that the rare
// write dropping an item from an index takes alone (see writes.go), so no
// read sees the item missing while minidyn's index entry is rebuilt.
type tableLocks struct {
	mu     sync.Mutex
	byName map[string]*sync.RWMutex
}

func (l *tableLocks) get(names []string) []*sync.RWMutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []*sync.RWMutex{}
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		m := l.byName[n]
		if m == nil {
			m = &sync.RWMutex{}
			l.byName[n] = m
		}
		out = append(out, m)
	}
	return out
}

// read share-locks the tables, in name order, and returns the unlock.
func (l *tableLocks) read(names ...string) func() {
	ms := l.get(names)
	for _, m := range ms {
		m.RLock()
	}
	return func() {
		for _, m := range ms {
			m.RUnlock()
		}
	}
}

// write locks the tables alone, in name order, and returns the unlock.
func (l *tableLocks) write(names ...string) func() {
	ms := l.get(names)
	for _, m := range ms {
		m.Lock()
	}
	return func() {
		for _, m := range ms {
			m.Unlock()
		}
	}
}
