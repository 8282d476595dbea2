package dynamoserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
)

// compat sits in front of minidyn's handler and makes it answer the requests
// guregu/dynamo and the AWS SDK send the way DynamoDB does:
//   - Query's legacy KeyConditions (which minidyn ignores, returning no
//     items) become an equivalent KeyConditionExpression;
//   - DescribeTable and CreateTable descriptions get TableStatus, TableArn,
//     and IndexStatus/IndexArn for each global secondary index, which
//     guregu/dynamo's Describe and Wait need.
type compat struct {
	next  http.Handler
	count func(op string)
}

const maxRequestBytes = 16 << 20

func (c compat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if c.count != nil && op != "" {
		c.count(op)
	}
	switch op {
	case "Query":
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
		if err != nil {
			writeValidation(w, "cannot read request")
			return
		}
		rewritten, err := RewriteKeyConditions(body)
		if err != nil {
			writeValidation(w, err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(rewritten))
		r.ContentLength = int64(len(rewritten))
		c.next.ServeHTTP(w, r)
	case "DescribeTable", "CreateTable":
		rec := httptest.NewRecorder()
		c.next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			if fixed, err := fillDescription(body); err == nil {
				body = fixed
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	default:
		c.next.ServeHTTP(w, r)
	}
}

func writeValidation(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"__type":  "com.amazon.coral.validate#ValidationException",
		"message": msg,
	})
}

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

// fillDescription adds the status and ARN fields minidyn leaves out.
func fillDescription(body []byte) ([]byte, error) {
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	for _, key := range []string{"Table", "TableDescription"} {
		raw, ok := resp[key]
		if !ok {
			continue
		}
		fixed, err := fillTable(raw)
		if err != nil {
			return nil, err
		}
		resp[key] = fixed
	}
	return json.Marshal(resp)
}

// fillTable fills one table description: the table's status and ARN and
// each global secondary index's.
func fillTable(raw json.RawMessage) (json.RawMessage, error) {
	var desc map[string]any
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, err
	}
	name, _ := desc["TableName"].(string)
	arn := "arn:aws:dynamodb:us-east-1:000000000000:table/" + name
	setDefault(desc, "TableStatus", "ACTIVE")
	setDefault(desc, "TableArn", arn)
	gsis, _ := desc["GlobalSecondaryIndexes"].([]any)
	for _, g := range gsis {
		if ix, ok := g.(map[string]any); ok {
			ixName, _ := ix["IndexName"].(string)
			setDefault(ix, "IndexStatus", "ACTIVE")
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
