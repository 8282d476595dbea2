package dynamoserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// compat sits in front of minidyn's handler and makes it answer the requests
// guregu/dynamo and the AWS SDK send the way DynamoDB does (docs/local-dynamodb.md
// lists what it emulates and what it does not):
//   - Query's legacy KeyConditions (which minidyn ignores, returning no
//     items) become an equivalent KeyConditionExpression;
//   - table descriptions get TableStatus (CREATING from CreateTable, ACTIVE
//     from DescribeTable), TableArn, and IndexStatus/IndexArn for each
//     global secondary index (tables.go);
//   - transactions conflict as DynamoDB's do (conflicts.go, transact.go);
//   - DynamoDB's limits and key validation are enforced (limits.go);
//   - writes keep indexes sparse and consistent (writes.go), Query and Scan
//     page at Limit or 1 MB (search.go), and global secondary indexes can
//     lag behind the table (lag.go).
//
// It never serialises requests as a whole: requests on different items
// run concurrently, and only the layer's own read-modify-write of one
// item, and the rare rewrite that drops an item from an index, wait.
type compat struct {
	next   http.Handler // minidyn holding the data
	shadow http.Handler // a second minidyn where writes are evaluated before they are stored (writes.go)
	count  func(op string)
	clock  atomic.Pointer[func() time.Time]

	tables  schemas
	items   itemRegistry
	locks   tableLocks
	hold    transactionHold
	history lagHistory
	// ddl makes table operations exclusive with every other call into
	// minidyn, whose table catalogue is not safe for concurrent use.
	ddl sync.RWMutex

	conflictsOff         atomic.Bool
	conflictCount        atomic.Int64
	transactionsInFlight atomic.Int64
	lag                  atomic.Int64 // time.Duration
}

func newCompat(next, shadow http.Handler, count func(op string)) *compat {
	c := &compat{next: next, shadow: shadow, count: count}
	c.tables.tables = map[string]*tableSchema{}
	c.items.entries = map[string]*itemEntry{}
	c.locks.byName = map[string]*sync.RWMutex{}
	c.history.items = map[string]*itemHistory{}
	return c
}

// Requests of up to DynamoDB's 16 MB, with room for JSON's overhead.
const maxRequestBytes = 20 << 20

func (c *compat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if c.count != nil && op != "" {
		c.count(op)
	}
	if r.Method != http.MethodPost || !handled[op] {
		c.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		validation("cannot read request").reply().write(w)
		return
	}
	c.serve(r.Context(), op, body).write(w)
}

// The operations the layer answers.
const (
	opCreateTable        = "CreateTable"
	opUpdateTable        = "UpdateTable"
	opDeleteTable        = "DeleteTable"
	opDescribeTable      = "DescribeTable"
	opGetItem            = "GetItem"
	opQuery              = "Query"
	opScan               = "Scan"
	opBatchGetItem       = "BatchGetItem"
	opTransactGetItems   = "TransactGetItems"
	opPutItem            = "PutItem"
	opUpdateItem         = "UpdateItem"
	opDeleteItem         = "DeleteItem"
	opBatchWriteItem     = "BatchWriteItem"
	opTransactWriteItems = "TransactWriteItems"
)

// handled lists the operations the layer answers; minidyn answers the rest.
var handled = map[string]bool{
	opCreateTable: true, opUpdateTable: true, opDeleteTable: true, opDescribeTable: true,
	opGetItem: true, opQuery: true, opScan: true, opBatchGetItem: true, opTransactGetItems: true,
	opPutItem: true, opUpdateItem: true, opDeleteItem: true, opBatchWriteItem: true, opTransactWriteItems: true,
}

func (c *compat) serve(ctx context.Context, op string, body []byte) reply {
	switch op {
	case opCreateTable, opUpdateTable, opDeleteTable, opDescribeTable:
		return c.serveTableOp(op, body)
	case opQuery, opScan:
		return c.serveSearch(op, body)
	case opGetItem:
		return c.serveGetItem(body)
	case opBatchGetItem:
		return c.serveBatchGet(body)
	case opTransactGetItems:
		return c.serveTransactGet(body)
	case opBatchWriteItem:
		return c.serveBatchWrite(body)
	case opTransactWriteItems:
		return c.serveTransactWrite(ctx, body)
	default: // PutItem, UpdateItem, DeleteItem
		return c.serveWrite(op, body)
	}
}

// main calls the minidyn holding the data.
func (c *compat) main(op string, in any) reply {
	c.ddl.RLock()
	defer c.ddl.RUnlock()
	return call(c.next, op, in)
}

// shadowCall calls the shadow minidyn.
func (c *compat) shadowCall(op string, in any) reply {
	c.ddl.RLock()
	defer c.ddl.RUnlock()
	return call(c.shadow, op, in)
}

// now reads the layer's clock.
func (c *compat) now() time.Time {
	if f := c.clock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

// detectConflicts reports whether transaction conflicts are emulated.
func (c *compat) detectConflicts() bool { return !c.conflictsOff.Load() }

type keyCondition struct {
	ComparisonOperator string            `json:"ComparisonOperator"`
	AttributeValueList []json.RawMessage `json:"AttributeValueList"`
}

// RewriteKeyConditions turns a Query request's legacy KeyConditions into a
// KeyConditionExpression with fresh placeholders, merged with any
// expression names and values already present. A request without
// KeyConditions is returned unchanged.
func RewriteKeyConditions(body []byte) ([]byte, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("request is not a JSON object")
	}
	raw, ok := req["KeyConditions"]
	if !ok {
		return body, nil
	}
	if _, both := req["KeyConditionExpression"]; both {
		return nil, fmt.Errorf("KeyConditions and KeyConditionExpression cannot both be set")
	}
	var conds map[string]keyCondition
	if err := json.Unmarshal(raw, &conds); err != nil {
		return nil, fmt.Errorf("KeyConditions is malformed")
	}
	ph, err := requestPlaceholders(req)
	if err != nil {
		return nil, err
	}
	// Deterministic order: the attribute names sorted.
	attrs := slices.Sorted(maps.Keys(conds))
	parts := make([]string, 0, len(attrs))
	for _, attr := range attrs {
		expr, err := ph.condition(attr, conds[attr])
		if err != nil {
			return nil, err
		}
		parts = append(parts, expr)
	}
	delete(req, "KeyConditions")
	if req["KeyConditionExpression"], err = json.Marshal(strings.Join(parts, " AND ")); err != nil {
		return nil, err
	}
	if req["ExpressionAttributeNames"], err = json.Marshal(ph.names); err != nil {
		return nil, err
	}
	if req["ExpressionAttributeValues"], err = json.Marshal(ph.values); err != nil {
		return nil, err
	}
	return json.Marshal(req)
}

// placeholders are a Query's expression attribute names and values; the
// rewritten key conditions add theirs (#kc0, :kc1, ...: one counter for
// both) without reusing one the request already has.
type placeholders struct {
	names  map[string]string
	values map[string]json.RawMessage
	n      int
}

// requestPlaceholders starts from the names and values req already has.
func requestPlaceholders(req map[string]json.RawMessage) (*placeholders, error) {
	ph := &placeholders{names: map[string]string{}, values: map[string]json.RawMessage{}}
	if v, ok := req["ExpressionAttributeNames"]; ok {
		if err := json.Unmarshal(v, &ph.names); err != nil {
			return nil, fmt.Errorf("ExpressionAttributeNames is malformed")
		}
	}
	if v, ok := req["ExpressionAttributeValues"]; ok {
		if err := json.Unmarshal(v, &ph.values); err != nil {
			return nil, fmt.Errorf("ExpressionAttributeValues is malformed")
		}
	}
	return ph, nil
}

// fresh returns the next placeholder with prefix that taken does not report.
func (ph *placeholders) fresh(prefix string, taken func(string) bool) string {
	for {
		p := fmt.Sprintf("%skc%d", prefix, ph.n)
		ph.n++
		if !taken(p) {
			return p
		}
	}
}

// name adds a placeholder for the attribute name attr.
func (ph *placeholders) name(attr string) string {
	p := ph.fresh("#", func(p string) bool { _, ok := ph.names[p]; return ok })
	ph.names[p] = attr
	return p
}

// value adds a placeholder for the attribute value v.
func (ph *placeholders) value(v json.RawMessage) string {
	p := ph.fresh(":", func(p string) bool { _, ok := ph.values[p]; return ok })
	ph.values[p] = v
	return p
}

// comparisons are the KeyConditions operators that become an infix
// comparison.
var comparisons = map[string]string{"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}

// condition writes attr's legacy key condition as an expression.
func (ph *placeholders) condition(attr string, cond keyCondition) (string, error) {
	op := strings.ToUpper(cond.ComparisonOperator)
	want := 1 // values the operator takes
	switch {
	case op == "BETWEEN":
		want = 2
	case op != "BEGINS_WITH" && comparisons[op] == "":
		return "", fmt.Errorf("KeyConditions[%s]: unsupported operator %q", attr, cond.ComparisonOperator)
	}
	if len(cond.AttributeValueList) < want {
		return "", fmt.Errorf("KeyConditions[%s]: %s needs more values", attr, cond.ComparisonOperator)
	}
	if len(cond.AttributeValueList) != want {
		return "", fmt.Errorf("KeyConditions[%s]: %s takes %d value(s)", attr, cond.ComparisonOperator, want)
	}
	name := ph.name(attr)
	v := make([]string, want)
	for i := range v {
		v[i] = ph.value(cond.AttributeValueList[i])
	}
	switch op {
	case "BEGINS_WITH":
		return fmt.Sprintf("begins_with(%s, %s)", name, v[0]), nil
	case "BETWEEN":
		return fmt.Sprintf("%s BETWEEN %s AND %s", name, v[0], v[1]), nil
	default:
		return fmt.Sprintf("%s %s %s", name, comparisons[op], v[0]), nil
	}
}
