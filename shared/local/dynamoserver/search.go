package dynamoserver

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/truora/minidyn/interpreter"
	minitypes "github.com/truora/minidyn/types"
)

// Query and Scan pages. minidyn honours Limit only without a filter (with
// one it counts every index entry it passes, in any partition, so a page
// can stop early and end on another partition's item) and has no 1 MB
// page. So the layer asks minidyn for every item the key condition
// selects, orders them as DynamoDB does (numbers by value, not as text),
// starts after ExclusiveStartKey, and reads items until Limit items or
// 1 MB of them (the item that crosses the megabyte included), whichever
// comes first. It applies the filter and the projection to the items read
// with minidyn's own expression interpreter, and returns the last item
// read's table and index keys as LastEvaluatedKey. Requests still using
// the legacy AttributesToGet, QueryFilter or ScanFilter go to minidyn as
// they are.

// searchRequest is the part of Query and Scan the layer reads.
type searchRequest struct {
	TableName                 string
	IndexName                 string
	KeyConditionExpression    string
	FilterExpression          string
	ProjectionExpression      string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues item
	ExclusiveStartKey         item
	Limit                     int
	ScanIndexForward          *bool
	Select                    string
	ConsistentRead            bool
	Segment                   *int
	TotalSegments             *int
	AttributesToGet           json.RawMessage
	QueryFilter               json.RawMessage
	ScanFilter                json.RawMessage
}

func (r *searchRequest) legacy() bool {
	return r.AttributesToGet != nil || r.QueryFilter != nil || r.ScanFilter != nil
}

// search is one Query or Scan being answered.
type search struct {
	op     string
	t      *tableSchema
	ix     *indexSchema // nil on the table itself
	req    searchRequest
	order  []string // the attributes results are ordered by, and LastEvaluatedKey's
	lang   interpreter.Language
	values map[string]*minitypes.Item
}

// candidate is an item the key condition selects, with its place in the
// order.
type candidate struct {
	img   item
	place []scalar
}

func (c *compat) serveSearch(op string, body []byte) reply {
	if op == opQuery {
		rewritten, err := RewriteKeyConditions(body)
		if err != nil {
			return validation(err.Error()).reply()
		}
		body = rewritten
	}
	s, problem := c.newSearch(op, body)
	if problem != nil {
		return problem.reply()
	}
	if s == nil {
		return c.main(op, body)
	}
	unlock := c.locks.read(s.t.name)
	defer unlock()
	items, r := c.probe(s)
	if !r.ok() {
		return r
	}
	items, problem = c.lagged(s, items)
	if problem != nil {
		return problem.reply()
	}
	return s.page(items)
}

// newSearch reads and checks a request; a nil search (and no error) means
// minidyn answers it as it is.
func (c *compat) newSearch(op string, body []byte) (*search, *apiError) {
	s := &search{op: op}
	if json.Unmarshal(body, &s.req) != nil || s.req.legacy() {
		return nil, nil
	}
	if s.t = c.tables.get(s.req.TableName); s.t == nil {
		return nil, nil
	}
	s.order = s.t.keys.names()
	if s.req.IndexName != "" {
		if s.ix = s.t.index(s.req.IndexName); s.ix == nil {
			return nil, nil
		}
		if s.ix.global && s.req.ConsistentRead {
			return nil, validation(msgGSIConsistentRead)
		}
		s.order = distinct(append(s.ix.keys.names(), s.order...))
	}
	if problem := s.check(); problem != nil {
		return nil, problem
	}
	values, err := toMini(s.req.ExpressionAttributeValues)
	if err != nil {
		return nil, validation("ExpressionAttributeValues is malformed")
	}
	s.values = values
	return s, nil
}

// check validates what minidyn would only notice item by item, or not.
func (s *search) check() *apiError {
	r := s.req
	if problem := checkKeyCondition(r.KeyConditionExpression, r.ExpressionAttributeNames, r.ExpressionAttributeValues); problem != nil {
		return problem
	}
	if problem := checkPlaceholders(r.ExpressionAttributeNames, r.ExpressionAttributeValues,
		r.KeyConditionExpression, r.FilterExpression, r.ProjectionExpression); problem != nil {
		return problem
	}
	for label, expr := range map[string]string{"FilterExpression": r.FilterExpression, "ProjectionExpression": r.ProjectionExpression} {
		if err := interpreter.ValidateExpressionAttributeNamesDeclared(label, expr, r.ExpressionAttributeNames); err != nil {
			return validation(err.Error())
		}
	}
	if r.ExclusiveStartKey != nil {
		if _, ok := s.place(r.ExclusiveStartKey); !ok {
			return validation("The provided starting key is invalid: The provided key element does not match the schema")
		}
	}
	return nil
}

// probe asks minidyn for every item the key condition selects (every item
// of a Scan), without filter, projection, limit or starting key.
func (c *compat) probe(s *search) ([]item, reply) {
	in := struct {
		TableName                 string
		IndexName                 string            `json:",omitempty"`
		KeyConditionExpression    string            `json:",omitempty"`
		ExpressionAttributeNames  map[string]string `json:",omitempty"`
		ExpressionAttributeValues item              `json:",omitempty"`
	}{TableName: s.t.name}
	if s.ix != nil {
		in.IndexName = s.ix.name
	}
	if s.op == opQuery {
		in.KeyConditionExpression = s.req.KeyConditionExpression
		in.ExpressionAttributeNames, in.ExpressionAttributeValues = usedPlaceholders(
			s.req.KeyConditionExpression, s.req.ExpressionAttributeNames, s.req.ExpressionAttributeValues)
	}
	r := c.main(s.op, in)
	if !r.ok() {
		return nil, r
	}
	var out struct{ Items []item }
	if err := json.Unmarshal(r.body, &out); err != nil {
		return nil, validation("cannot read items: " + err.Error()).reply()
	}
	for _, it := range out.Items {
		c.unblank(s.t, it, it)
	}
	return out.Items, r
}

// lagged shows a global secondary index as it stood the index lag ago
// (lag.go).
func (c *compat) lagged(s *search, items []item) ([]item, *apiError) {
	lag := time.Duration(c.lag.Load())
	if lag <= 0 || s.ix == nil || !s.ix.global {
		return items, nil
	}
	stale := c.history.lagging(s.t.name, c.now().Add(-lag))
	if len(stale) == 0 {
		return items, nil
	}
	out := slices.DeleteFunc(items, func(it item) bool {
		id, ok := s.t.itemID(it)
		_, lagging := stale[id]
		return ok && lagging
	})
	for _, before := range stale {
		if before == nil || !inIndex(before, s.ix) {
			continue
		}
		img := s.t.project(before, s.ix)
		if s.op == opQuery {
			matched, err := s.match(s.req.KeyConditionExpression, interpreter.ExpressionTypeKey, img)
			if err != nil {
				return nil, validation(err.Error())
			}
			if !matched {
				continue
			}
		}
		out = append(out, img)
	}
	return out, nil
}

// page orders the items, starts after ExclusiveStartKey and reads one page.
func (s *search) page(items []item) reply {
	cands := s.arrange(items)
	start := 0
	if esk := s.req.ExclusiveStartKey; esk != nil {
		place, _ := s.place(esk)
		start = sort.Search(len(cands), func(i int) bool { return s.before(place, cands[i].place) })
	}
	found := []item{}
	scanned, size := 0, 0
	var last item
	for _, cd := range cands[start:] {
		scanned++
		size += itemSize(cd.img)
		kept, err := s.keep(cd.img)
		if err != nil {
			return validation(err.Error()).reply()
		}
		if kept != nil {
			found = append(found, kept)
		}
		if (s.req.Limit > 0 && scanned >= s.req.Limit) || size >= maxPageBytes {
			last = cd.img.pick(s.order...)
			break
		}
	}
	out := map[string]any{"Count": len(found), "ScannedCount": scanned}
	if s.req.Select != "COUNT" {
		out["Items"] = found
	}
	if last != nil {
		out["LastEvaluatedKey"] = last
	}
	return encodeReply(out)
}

// arrange keeps a Scan's segment and sorts the items in reading order.
func (s *search) arrange(items []item) []candidate {
	cands := make([]candidate, 0, len(items))
	for _, it := range items {
		if !s.inSegment(it) {
			continue
		}
		place, _ := s.place(it)
		cands = append(cands, candidate{img: it, place: place})
	}
	sort.SliceStable(cands, func(i, j int) bool { return s.before(cands[i].place, cands[j].place) })
	return cands
}

// place is an item's (or a starting key's) position: its values of the
// ordering attributes; ok is false when one is missing.
func (s *search) place(it item) ([]scalar, bool) {
	out := make([]scalar, len(s.order))
	for i, n := range s.order {
		v, ok := scalarOf(it[n])
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// before reports whether a is read before b: ascending, or descending for
// a Query with ScanIndexForward false.
func (s *search) before(a, b []scalar) bool {
	c := comparePlaces(a, b)
	if s.op == opQuery && s.req.ScanIndexForward != nil && !*s.req.ScanIndexForward {
		return c > 0
	}
	return c < 0
}

// inSegment keeps a parallel Scan's share of the items, by partition key.
func (s *search) inSegment(it item) bool {
	if s.req.Segment == nil || s.req.TotalSegments == nil || *s.req.TotalSegments <= 0 {
		return true
	}
	v, _ := scalarOf(it[s.t.keys.hash])
	h := fnv.New32a()
	_, _ = h.Write([]byte(v.typ + v.text))
	return int(h.Sum32()%uint32(*s.req.TotalSegments)) == *s.req.Segment
}

// keep applies the filter and the projection to an item read; nil when
// the filter drops it.
func (s *search) keep(img item) (item, error) {
	if s.req.FilterExpression != "" {
		matched, err := s.match(s.req.FilterExpression, interpreter.ExpressionTypeFilter, img)
		if err != nil || !matched {
			return nil, err
		}
	}
	if s.req.ProjectionExpression == "" {
		return img, nil
	}
	mini, err := toMini(img)
	if err != nil {
		return nil, err
	}
	projected, err := s.lang.Project(interpreter.ProjectInput{
		Expression: s.req.ProjectionExpression, Item: mini, Aliases: s.req.ExpressionAttributeNames,
	})
	if err != nil {
		return nil, err
	}
	return fromMini(projected), nil
}

func (s *search) match(expr string, typ interpreter.ExpressionType, img item) (bool, error) {
	mini, err := toMini(img)
	if err != nil {
		return false, err
	}
	return s.lang.Match(interpreter.MatchInput{
		TableName: s.t.name, Expression: expr, ExpressionType: typ,
		Item: mini, Attributes: s.values, Aliases: s.req.ExpressionAttributeNames,
	})
}

func comparePlaces(a, b []scalar) int {
	for i := range min(len(a), len(b)) {
		if c := compareScalars(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// compareScalars orders key values as DynamoDB does: numbers by value,
// strings and binaries byte by byte.
func compareScalars(a, b scalar) int {
	if a.typ != b.typ {
		return strings.Compare(a.typ, b.typ)
	}
	if a.typ == "N" {
		x, okx := new(big.Rat).SetString(a.text)
		y, oky := new(big.Rat).SetString(b.text)
		if okx && oky {
			return x.Cmp(y)
		}
	}
	return strings.Compare(a.text, b.text)
}

var placeholderToken = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// usedPlaceholders returns the names and values expr uses.
func usedPlaceholders(expr string, names map[string]string, values item) (map[string]string, item) {
	usedNames, usedValues := map[string]string{}, item{}
	for _, tok := range placeholderToken.FindAllString(expr, -1) {
		if v, ok := names[tok]; ok {
			usedNames[tok] = v
		}
		if v, ok := values[tok]; ok {
			usedValues[tok] = v
		}
	}
	return usedNames, usedValues
}

// checkPlaceholders refuses expression names or values no expression
// uses, in DynamoDB's words.
func checkPlaceholders(names map[string]string, values item, exprs ...string) *apiError {
	all := strings.TrimSpace(strings.Join(exprs, " "))
	unused := func(keys []string) string {
		missing := []string{}
		for _, k := range keys {
			if !strings.Contains(all, k) {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		return strings.Join(missing, ", ")
	}
	nameKeys, valueKeys := slices.Collect(maps.Keys(names)), slices.Collect(maps.Keys(values))
	switch {
	case len(names) > 0 && all == "":
		return validation("ExpressionAttributeNames can only be specified when using expressions")
	case unused(nameKeys) != "":
		return validation(fmt.Sprintf("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", unused(nameKeys)))
	case len(values) > 0 && all == "":
		return validation("ExpressionAttributeValues can only be specified when using expressions")
	case unused(valueKeys) != "":
		return validation(fmt.Sprintf("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", unused(valueKeys)))
	}
	return nil
}

// distinct returns names without repeats, in their first order.
func distinct(names []string) []string {
	out := []string{}
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
