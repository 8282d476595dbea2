package dynamoserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// DynamoDB Streams. With a stream enabled on a table (Server.EnableStream),
// every write the layer stores on it appends one record per item it
// changed to the table's change log, as DynamoDB Streams does for a stream
// of view type NEW_AND_OLD_IMAGES ("Change data capture for DynamoDB
// Streams" in DynamoDB's developer guide):
//   - INSERT for an item that did not exist, MODIFY for one that did,
//     REMOVE for one deleted, each with the item's keys and its images
//     before (OldImage) and after (NewImage) as DynamoDB JSON;
//   - no record for a write that changes nothing: the guide says "If you
//     perform a PutItem or UpdateItem operation that does not change any
//     data in an item, DynamoDB Streams does not write a stream record for
//     that operation", and a delete of a missing item modifies no item; so
//     a put of an identical item, an update setting the values the item
//     already has and a delete of a missing item leave no record, and
//     neither does a refused write (a failed condition, a cancelled
//     transaction) nor a transaction's ConditionCheck;
//   - the records of one item in the order of its writes, each with a
//     sequence number greater than every earlier one in the stream;
//   - records kept 24 hours, by the server's clock (SetClock).
// Streams are off unless enabled per table: a write on a table without one
// costs one atomic load.

const (
	// streamRegion and streamAccount are what the server's ARNs name
	// (tables.go names table ARNs the same way).
	streamRegion  = "us-east-1"
	streamAccount = "000000000000"
	// streamRetention is how long DynamoDB keeps a stream record.
	streamRetention = 24 * time.Hour
	// streamLabelLayout is DynamoDB's stream label: when the stream was
	// enabled, to the millisecond, e.g. 2015-06-27T00:48:05.899.
	streamLabelLayout = "2006-01-02T15:04:05.000"
)

// Stream record fields as Lambda delivers them.
const (
	eventInsert           = "INSERT"
	eventModify           = "MODIFY"
	eventRemove           = "REMOVE"
	streamEventVersion    = "1.1"
	streamEventSource     = "aws:dynamodb"
	streamNewAndOldImages = "NEW_AND_OLD_IMAGES"
)

// ErrNoStream is returned for a table on which no stream was enabled.
var ErrNoStream = errors.New("table has no stream")

// streamSet holds the change logs of the tables with a stream. The map is
// replaced whole when a stream is enabled, so that a write reads it with a
// single atomic load and no lock.
type streamSet struct {
	mu   sync.Mutex // serialises enabling
	logs atomic.Pointer[map[string]*streamLog]
}

// of returns table's change log, nil when it has no stream.
func (s *streamSet) of(table string) *streamLog {
	logs := s.logs.Load()
	if logs == nil {
		return nil
	}
	return (*logs)[table]
}

// streamLog is one table's change log.
type streamLog struct {
	arn string

	mu      sync.Mutex
	records []streamRecord // in sequence order, younger than the retention
	last    uint64         // the last sequence number given
	// current is every item of the table as the layer last stored it, by
	// item id: the layer reads an item before writing it only when it
	// needs to (an update, a transaction, a table with secondary indexes),
	// so a plain put or delete on a table without indexes learns here what
	// it replaced.
	current map[string]item
	// changed is closed, and replaced, whenever a record is appended.
	changed chan struct{}
}

// streamRecord is one record as the log keeps it.
type streamRecord struct {
	seq       string
	at        time.Time
	eventID   string
	eventName string
	keys      item
	oldImage  item
	newImage  item
	size      int
}

// enableStream turns table's stream on and returns its ARN; enabling it
// again returns the same stream. The table's items are copied (for
// streamLog.current) while no call reaches the data, so every write is
// either in the copy or recorded.
func (c *compat) enableStream(table string) (string, error) {
	c.ddl.Lock()
	defer c.ddl.Unlock()
	t := c.tables.get(table)
	if t == nil {
		return "", fmt.Errorf("enable stream: table %s not found", table)
	}
	c.history.streams.mu.Lock()
	defer c.history.streams.mu.Unlock()
	if l := c.history.streams.of(table); l != nil {
		return l.arn, nil
	}
	current, err := itemsOf(func(op string, in any) reply { return call(c.next, op, in) }, t)
	if err != nil {
		return "", fmt.Errorf("enable stream on %s: %w", table, err)
	}
	l := &streamLog{
		arn:     streamARN(table, c.now()),
		current: current,
		changed: make(chan struct{}),
	}
	logs := map[string]*streamLog{}
	if old := c.history.streams.logs.Load(); old != nil {
		maps.Copy(logs, *old)
	}
	logs[table] = l
	c.history.streams.logs.Store(&logs)
	return l.arn, nil
}

// streamARN is the ARN of a stream enabled on table at `at`.
func streamARN(table string, at time.Time) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/%s",
		streamRegion, streamAccount, table, at.UTC().Format(streamLabelLayout))
}

// itemsOf reads every item of t, by item id.
func itemsOf(get func(op string, in any) reply, t *tableSchema) (map[string]item, error) {
	out := map[string]item{}
	var start item
	for {
		in := map[string]any{"TableName": t.name}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		r := get(opScan, in)
		if !r.ok() {
			return nil, fmt.Errorf("scan: HTTP %d: %s", r.status, r.body)
		}
		var page struct {
			Items            []item
			LastEvaluatedKey item
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, it := range page.Items {
			if id, ok := t.itemID(it); ok {
				resolveBlanks(get, t, it.pick(t.keys.names()...), it)
				out[id] = it
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// record appends the record of a write that left img (nil: nothing) where
// old was, if it changed anything. The caller holds the item's lock, so an
// item's records are appended in the order of its writes.
func (l *streamLog) record(t *tableSchema, key, old, img item, now time.Time) {
	id, ok := t.itemID(key)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old == nil && len(t.indexes) == 0 {
		old = l.current[id] // the layer may not have read it (see current)
	}
	if img == nil {
		delete(l.current, id)
	} else {
		l.current[id] = img
	}
	name := eventName(old, img)
	if name == "" {
		return
	}
	keys := img
	if keys == nil {
		keys = old
	}
	keys = keys.pick(t.keys.names()...)
	l.last++
	l.trim(now)
	l.records = append(l.records, streamRecord{
		seq:       formatSequence(l.last),
		at:        now,
		eventID:   newEventID(),
		eventName: name,
		keys:      keys,
		oldImage:  old,
		newImage:  img,
		// As DynamoDB counts it: the keys and both images, each by the
		// item size rules (Lambda's sample records: 26, 59 and 38 bytes).
		size: itemSize(keys) + itemSize(old) + itemSize(img),
	})
	close(l.changed)
	l.changed = make(chan struct{})
}

// eventName names the change from old to img, "" for none.
func eventName(old, img item) string {
	switch {
	case old == nil && img == nil:
		return ""
	case old == nil:
		return eventInsert
	case img == nil:
		return eventRemove
	case sameItem(old, img):
		return ""
	default:
		return eventModify
	}
}

// trim drops the records older than the retention; the caller holds l.mu.
func (l *streamLog) trim(now time.Time) {
	cutoff := now.Add(-streamRetention)
	i := 0
	for i < len(l.records) && !l.records[i].at.After(cutoff) {
		i++
	}
	if i > 0 {
		l.records = slices.Delete(l.records, 0, i)
	}
}

// after returns up to max records (every one when max <= 0) with a
// sequence number greater than seq ("": from the oldest kept).
func (l *streamLog) after(seq string, maxRecords int, now time.Time) []streamRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trim(now)
	i := sort.Search(len(l.records), func(i int) bool { return compareSequence(l.records[i].seq, seq) > 0 })
	out := l.records[i:]
	if maxRecords > 0 && len(out) > maxRecords {
		out = out[:maxRecords]
	}
	return slices.Clone(out)
}

// wait returns once the log holds a record after seq, or ctx is done.
func (l *streamLog) wait(ctx context.Context, seq string, now func() time.Time) error {
	for {
		l.mu.Lock()
		l.trim(now())
		found := len(l.records) > 0 && compareSequence(l.records[len(l.records)-1].seq, seq) > 0
		changed := l.changed
		l.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// formatSequence writes the n-th sequence number as DynamoDB's look: a
// decimal of 21 digits, so that comparing them as text or as numbers
// agrees.
func formatSequence(n uint64) string { return fmt.Sprintf("1%020d", n) }

// compareSequence compares two decimal sequence numbers by value.
func compareSequence(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// newEventID returns a record's globally unique id, 32 hex digits as
// DynamoDB's.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// eventRecord builds the record as Lambda delivers it.
func (l *streamLog) eventRecord(r streamRecord) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{
		AWSRegion: streamRegion,
		Change: events.DynamoDBStreamRecord{
			// DynamoDB rounds it down to the second.
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Unix(r.at.Unix(), 0)},
			Keys:                        eventImage(r.keys),
			NewImage:                    eventImage(r.newImage),
			OldImage:                    eventImage(r.oldImage),
			SequenceNumber:              r.seq,
			SizeBytes:                   int64(r.size),
			StreamViewType:              streamNewAndOldImages,
		},
		EventID:        r.eventID,
		EventName:      r.eventName,
		EventSource:    streamEventSource,
		EventVersion:   streamEventVersion,
		EventSourceArn: l.arn,
	}
}

// eventImage converts an item to Lambda's attribute values (nil for none).
func eventImage(it item) map[string]events.DynamoDBAttributeValue {
	if it == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(it))
	for name, raw := range it {
		out[name] = eventValue(raw)
	}
	return out
}

// eventValue converts one attribute value. minidyn answers a nested empty
// list, map or binary as {}, a value of no type that Lambda's types cannot
// hold: it becomes NULL.
func eventValue(raw json.RawMessage) events.DynamoDBAttributeValue {
	var av events.DynamoDBAttributeValue
	if json.Unmarshal(raw, &av) == nil {
		return av
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return events.NewNullAttribute()
	}
	fixed, err := json.Marshal(typedBlanks(v))
	if err != nil || json.Unmarshal(fixed, &av) != nil {
		return events.NewNullAttribute()
	}
	return av
}

// typedBlanks replaces, in a decoded attribute value, every {} by NULL.
func typedBlanks(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if len(m) == 0 {
		return json.RawMessage(`{"NULL":true}`)
	}
	if list, ok := m["L"].([]any); ok {
		for i, e := range list {
			list[i] = typedBlanks(e)
		}
	}
	if members, ok := m["M"].(map[string]any); ok {
		for k, e := range members {
			members[k] = typedBlanks(e)
		}
	}
	return m
}

// sameItem reports whether two images hold the same data by DynamoDB's
// rules: the same attributes, numbers equal by value, sets equal whatever
// their order.
func sameItem(a, b item) bool {
	if len(a) != len(b) {
		return false
	}
	for name, av := range a {
		bv, ok := b[name]
		if !ok || !sameValue(av, bv) {
			return false
		}
	}
	return true
}

func sameValue(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var av, bv any
	if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
		return false
	}
	return sameDecoded(av, bv)
}

// sameDecoded compares two decoded attribute values. minidyn's {} (an
// empty list, map or binary whose type it lost) equals any of those.
func sameDecoded(a, b any) bool {
	ta, pa, okA := decodedType(a)
	tb, pb, okB := decodedType(b)
	switch {
	case !okA || !okB:
		return false
	case ta == "" || tb == "":
		return isEmptyValue(ta, pa) && isEmptyValue(tb, pb)
	case ta != tb:
		return false
	}
	switch ta {
	case "N":
		return sameNumber(pa, pb)
	case "SS", "BS":
		return sameMembers(pa, pb, func(s string) string { return s })
	case "NS":
		return sameMembers(pa, pb, canonicalNumber)
	case "L":
		return sameElements(pa, pb)
	case "M":
		ma, _ := pa.(map[string]any)
		mb, _ := pb.(map[string]any)
		if len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !sameDecoded(va, vb) {
				return false
			}
		}
		return true
	default: // S, B, BOOL, NULL
		return reflect.DeepEqual(pa, pb)
	}
}

// decodedType splits a decoded attribute value into its type and payload;
// the type is "" for minidyn's {}, and ok false for anything else that is
// not a single-typed value.
func decodedType(v any) (typ string, payload any, ok bool) {
	m, isMap := v.(map[string]any)
	switch {
	case !isMap || len(m) > 1:
		return "", nil, false
	case len(m) == 0:
		return "", nil, true
	}
	for typ, payload = range m {
		return typ, payload, true
	}
	return "", nil, false
}

// isEmptyValue reports an empty list, map or binary, or minidyn's {}.
func isEmptyValue(typ string, payload any) bool {
	switch typ {
	case "":
		return true
	case "L":
		l, ok := payload.([]any)
		return ok && len(l) == 0
	case "M":
		m, ok := payload.(map[string]any)
		return ok && len(m) == 0
	case "B":
		return payload == ""
	}
	return false
}

// sameElements compares two lists element by element.
func sameElements(a, b any) bool {
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if !okA || !okB || len(la) != len(lb) {
		return false
	}
	for i := range la {
		if !sameDecoded(la[i], lb[i]) {
			return false
		}
	}
	return true
}

func sameNumber(a, b any) bool {
	as, okA := a.(string)
	bs, okB := b.(string)
	return okA && okB && canonicalNumber(as) == canonicalNumber(bs)
}

// canonicalNumber writes a number so that equal numbers ("1", "1.0",
// "10E-1") are written alike.
func canonicalNumber(s string) string {
	if r, ok := new(big.Rat).SetString(strings.TrimSpace(s)); ok {
		return r.RatString()
	}
	return s
}

// sameMembers compares two sets, each member canonicalised.
func sameMembers(a, b any, canonical func(string) string) bool {
	ma, okA := setMembers(a, canonical)
	mb, okB := setMembers(b, canonical)
	return okA && okB && slices.Equal(ma, mb)
}

func setMembers(v any, canonical func(string) string) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, canonical(s))
	}
	slices.Sort(out)
	return out, true
}

// streamRecords returns table's records after seq as Lambda delivers them.
func (c *compat) streamRecords(table, seq string, maxRecords int) []events.DynamoDBEventRecord {
	l := c.history.streams.of(table)
	if l == nil {
		return nil
	}
	kept := l.after(seq, maxRecords, c.now())
	out := make([]events.DynamoDBEventRecord, len(kept))
	for i, r := range kept {
		out[i] = l.eventRecord(r)
	}
	return out
}

// streamARNOf returns table's stream ARN, "" when it has none.
func (c *compat) streamARNOf(table string) string {
	if l := c.history.streams.of(table); l != nil {
		return l.arn
	}
	return ""
}

// waitStream returns once table's stream holds a record after seq.
func (c *compat) waitStream(ctx context.Context, table, seq string) error {
	l := c.history.streams.of(table)
	if l == nil {
		return fmt.Errorf("wait for stream records of %s: %w", table, ErrNoStream)
	}
	return l.wait(ctx, seq, c.now)
}
