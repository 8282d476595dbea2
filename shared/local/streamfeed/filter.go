package streamfeed

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// InsertedWithKeyPrefix returns the filter that picks the records of items
// inserted (eventName INSERT) whose string key attribute begins with
// prefix, and the same filter as the Pattern of an event source mapping's
// FilterCriteria, for the template to carry and a test to compare. For
// attribute "sk" and prefix "event#" the pattern is
//
//	{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"event#"}]}}}}
//
// Lambda matches the "prefix" operator on strings only, as the filter
// does: an item whose attribute is a number or binary is not picked.
func InsertedWithKeyPrefix(attribute, prefix string) (filter Filter, pattern string) {
	filter = func(r events.DynamoDBEventRecord) bool {
		v, ok := r.Change.Keys[attribute]
		return r.EventName == string(events.DynamoDBOperationTypeInsert) &&
			ok && v.DataType() == events.DataTypeString && strings.HasPrefix(v.String(), prefix)
	}
	return filter, insertedPattern(attribute, prefix)
}

// insertedPattern writes the filter pattern with its fields in the order
// AWS's documentation writes them, and without escaping HTML characters,
// so that it reads as written in the template.
func insertedPattern(attribute, prefix string) string {
	type prefixMatch struct {
		Prefix string `json:"prefix"`
	}
	type stringMatch struct {
		S []prefixMatch `json:"S"`
	}
	type change struct {
		Keys map[string]stringMatch `json:"Keys"`
	}
	type recordPattern struct {
		EventName []string `json:"eventName"`
		DynamoDB  change   `json:"dynamodb"`
	}
	p := recordPattern{
		EventName: []string{string(events.DynamoDBOperationTypeInsert)},
		DynamoDB:  change{Keys: map[string]stringMatch{attribute: {S: []prefixMatch{{Prefix: prefix}}}}},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p) // strings only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
