package dynamoserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
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
	names := map[string]string{}
	values := map[string]json.RawMessage{}
	if v, ok := req["ExpressionAttributeNames"]; ok {
		if err := json.Unmarshal(v, &names); err != nil {
			return nil, fmt.Errorf("ExpressionAttributeNames is malformed")
		}
	}
	if v, ok := req["ExpressionAttributeValues"]; ok {
		if err := json.Unmarshal(v, &values); err != nil {
			return nil, fmt.Errorf("ExpressionAttributeValues is malformed")
		}
	}
	// Deterministic order: the attribute names sorted.
	attrs := make([]string, 0, len(conds))
	for a := range conds {
		attrs = append(attrs, a)
	}
	sortStrings(attrs)
	n := 0
	fresh := func(prefix string, taken func(string) bool) string {
		for {
			p := fmt.Sprintf("%skc%d", prefix, n)
			n++
			if !taken(p) {
				return p
			}
		}
	}
	var parts []string
	for _, attr := range attrs {
		cond := conds[attr]
		name := fresh("#", func(p string) bool { _, ok := names[p]; return ok })
		names[name] = attr
		val := func(i int) (string, error) {
			if i >= len(cond.AttributeValueList) {
				return "", fmt.Errorf("KeyConditions[%s]: %s needs more values", attr, cond.ComparisonOperator)
			}
			p := fresh(":", func(p string) bool { _, ok := values[p]; return ok })
			values[p] = cond.AttributeValueList[i]
			return p, nil
		}
		want := 1
		var expr string
		switch op := strings.ToUpper(cond.ComparisonOperator); op {
		case "EQ", "LT", "LE", "GT", "GE":
			v, err := val(0)
			if err != nil {
				return nil, err
			}
			expr = fmt.Sprintf("%s %s %s", name, map[string]string{"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}[op], v)
		case "BEGINS_WITH":
			v, err := val(0)
			if err != nil {
				return nil, err
			}
			expr = fmt.Sprintf("begins_with(%s, %s)", name, v)
		case "BETWEEN":
			want = 2
			lo, err := val(0)
			if err != nil {
				return nil, err
			}
			hi, err := val(1)
			if err != nil {
				return nil, err
			}
			expr = fmt.Sprintf("%s BETWEEN %s AND %s", name, lo, hi)
		default:
			return nil, fmt.Errorf("KeyConditions[%s]: unsupported operator %q", attr, cond.ComparisonOperator)
		}
		if len(cond.AttributeValueList) != want {
			return nil, fmt.Errorf("KeyConditions[%s]: %s takes %d value(s)", attr, cond.ComparisonOperator, want)
		}
		parts = append(parts, expr)
	}
	delete(req, "KeyConditions")
	var err error
	if req["KeyConditionExpression"], err = json.Marshal(strings.Join(parts, " AND ")); err != nil {
		return nil, err
	}
	if req["ExpressionAttributeNames"], err = json.Marshal(names); err != nil {
		return nil, err
	}
	if req["ExpressionAttributeValues"], err = json.Marshal(values); err != nil {
		return nil, err
	}
	return json.Marshal(req)
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
		var desc map[string]any
		if err := json.Unmarshal(raw, &desc); err != nil {
			return nil, err
		}
		name, _ := desc["TableName"].(string)
		arn := "arn:aws:dynamodb:us-east-1:000000000000:table/" + name
		if desc["TableStatus"] == nil || desc["TableStatus"] == "" {
			desc["TableStatus"] = "ACTIVE"
		}
		if desc["TableArn"] == nil || desc["TableArn"] == "" {
			desc["TableArn"] = arn
		}
		if gsis, ok := desc["GlobalSecondaryIndexes"].([]any); ok {
			for _, g := range gsis {
				ix, ok := g.(map[string]any)
				if !ok {
					continue
				}
				if ix["IndexStatus"] == nil || ix["IndexStatus"] == "" {
					ix["IndexStatus"] = "ACTIVE"
				}
				if ix["IndexArn"] == nil || ix["IndexArn"] == "" {
					ixName, _ := ix["IndexName"].(string)
					ix["IndexArn"] = arn + "/index/" + ixName
				}
			}
		}
		fixed, err := json.Marshal(desc)
		if err != nil {
			return nil, err
		}
		resp[key] = fixed
	}
	return json.Marshal(resp)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
