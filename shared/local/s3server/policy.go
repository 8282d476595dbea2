package s3server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A POST policy as S3 reads it: an expiration and conditions on the form's
// fields, each an exact match, a prefix, or the file's size range.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html

// Condition operators.
const (
	opEq          = "eq"
	opStartsWith  = "starts-with"
	opLengthRange = "content-length-range"
)

// postPolicy is a decoded policy.
type postPolicy struct {
	expiration time.Time
	conditions []condition
}

// condition is one entry of a policy's conditions.
type condition struct {
	op       string
	name     string // the field as written (without "$"), for messages
	field    string // lower-cased: S3 matches field names case-insensitively
	value    string
	min, max int64
}

// String writes the condition as S3 quotes it in a refusal.
func (c condition) String() string {
	if c.op == opLengthRange {
		return fmt.Sprintf(`[%q, %d, %d]`, opLengthRange, c.min, c.max)
	}
	return fmt.Sprintf(`[%q, %q, %q]`, c.op, "$"+c.name, c.value)
}

// holds reports whether a field's value (its repeated values joined with
// commas; "" when the form lacks it) meets the condition. A starts-with on
// Content-Type applies to each of its comma-separated values.
func (c condition) holds(value string) bool {
	switch {
	case c.op == opEq:
		return value == c.value
	case c.field == "content-type":
		for v := range strings.SplitSeq(value, ",") {
			if !strings.HasPrefix(strings.TrimSpace(v), c.value) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(value, c.value)
}

var policyTimeFormats = []string{"2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z"}

func invalidPolicy(message string) *apiError {
	return fail("InvalidPolicyDocument", "Invalid Policy: "+message)
}

// parsePolicy decodes the policy field (base64 of a UTF-8 JSON document).
func parsePolicy(encoded string) (postPolicy, *apiError) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return postPolicy{}, invalidPolicy("Invalid Simple-Policy.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return postPolicy{}, invalidPolicy("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return postPolicy{}, invalidPolicy("Policy missing expiration.")
	}
	var p postPolicy
	for _, layout := range policyTimeFormats {
		if p.expiration, err = time.Parse(layout, *doc.Expiration); err == nil {
			break
		}
	}
	if err != nil {
		return postPolicy{}, invalidPolicy(fmt.Sprintf("Invalid 'expiration' value: '%s'", *doc.Expiration))
	}
	if doc.Conditions == nil {
		return postPolicy{}, invalidPolicy("Policy missing conditions.")
	}
	for _, rawCond := range doc.Conditions {
		conds, apiErr := parseCondition(rawCond)
		if apiErr != nil {
			return postPolicy{}, apiErr
		}
		p.conditions = append(p.conditions, conds...)
	}
	return p, nil
}

// parseCondition reads {"field": "value"} (exact matches) or
// ["eq"|"starts-with", "$field", "value"] or
// ["content-length-range", min, max].
func parseCondition(raw json.RawMessage) ([]condition, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidPolicy("Invalid JSON.")
	}
	switch v := v.(type) {
	case map[string]any:
		var out []condition
		for name, value := range v {
			s, ok := value.(string)
			if !ok {
				return nil, invalidPolicy("Invalid Condition: " + string(raw))
			}
			out = append(out, condition{op: opEq, name: name, field: strings.ToLower(name), value: s})
		}
		return out, nil
	case []any:
		c, ok := arrayCondition(v)
		if !ok {
			return nil, invalidPolicy("Invalid Condition: " + string(raw))
		}
		return []condition{c}, nil
	}
	return nil, invalidPolicy("Invalid Condition: " + string(raw))
}

func arrayCondition(v []any) (condition, bool) {
	if len(v) != 3 {
		return condition{}, false
	}
	op, _ := v[0].(string)
	switch op = strings.ToLower(op); op {
	case opLengthRange:
		lo, okLo := policyInt(v[1])
		hi, okHi := policyInt(v[2])
		return condition{op: op, min: lo, max: hi}, okLo && okHi && lo >= 0 && lo <= hi
	case opEq, opStartsWith:
		name, okName := v[1].(string)
		value, okValue := v[2].(string)
		name, okDollar := strings.CutPrefix(name, "$")
		return condition{op: op, name: name, field: strings.ToLower(name), value: value}, okName && okValue && okDollar && name != ""
	}
	return condition{}, false
}

// policyInt reads a size: a JSON integer or a string of one.
func policyInt(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// sizeRange is the file sizes the policy allows (any when it sets none;
// with several ranges, all must hold).
func (p postPolicy) sizeRange() (lo, hi int64) {
	lo, hi = 0, maxPostObject
	for _, c := range p.conditions {
		if c.op == opLengthRange {
			lo, hi = max(lo, c.min), min(hi, c.max)
		}
	}
	return lo, hi
}

// notAllowed refuses a form the policy does not allow.
func notAllowed(why string) *apiError {
	return fail("AccessDenied", "Invalid according to Policy: "+why)
}

// check holds the form to the policy at now: not expired, every condition
// met (bucket is the request's bucket), and every field but the exempt
// ones named by a condition.
func (p postPolicy) check(form *postForm, bucket string, now time.Time) *apiError {
	if !now.Before(p.expiration) {
		return notAllowed("Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		if c.op == opLengthRange {
			continue // checked against the file as it is read
		}
		covered[c.field] = true
		value := form.fields[c.field]
		if c.field == "bucket" {
			value = bucket
		}
		if !c.holds(value) {
			return notAllowed("Policy Condition failed: " + c.String())
		}
	}
	for _, name := range form.names {
		if !covered[name] && !exemptField(name) {
			return notAllowed("Extra input fields: " + name)
		}
	}
	return nil
}

// exemptField names the fields a policy need not cover.
func exemptField(name string) bool {
	return name == fieldPolicy || name == fieldSignature || strings.HasPrefix(name, "x-ignore-")
}
