package dynamoserver

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNumbersAreSizedBySignificantDigits(t *testing.T) {
	// Sizes measured against DynamoDB and published with public
	// conformance suites: the halves either side of the point are counted
	// apart, zeros that are not significant are not counted.
	cases := map[string]int{
		"0": 1, "1": 2, "12": 2, "123": 3, "1234": 3, "12345678901234567890123456789012345678": 20,
		"0042": 2, "100": 2, "1010": 3, "0.0000001": 2, "1E125": 2, "1E-100": 2, "1.5": 3, "15": 2, "1.2": 3,
		"1.200": 3, "1.234": 4, "3.14159": 5, "123456": 4, "100.5": 4, "0.15": 2, "-42": 3, "-0": 1,
	}
	for literal, want := range cases {
		if got := numberSize(literal); got != want {
			t.Errorf("numberSize(%s) = %d, want %d", literal, got, want)
		}
	}
}

func TestItemSizeFollowsDynamoDBsRules(t *testing.T) {
	cases := []struct {
		item string
		want int
	}{
		{`{"pk":{"S":"h"}}`, 3},
		{`{"name":{"S":"日本"}}`, 4 + 6},
		{`{"b":{"B":"AAEC"}}`, 1 + 3},
		{`{"t":{"BOOL":true},"z":{"NULL":true}}`, 2 + 2},
		{`{"ss":{"SS":["ab","c"]},"ns":{"NS":["1","12345"]}}`, 2 + 3 + 2 + 2 + 4},
		{`{"l":{"L":[{"S":"ab"},{"N":"1"}]}}`, 1 + 3 + (1 + 2) + (1 + 2)},
		{`{"m":{"M":{"k":{"S":"v"}}}}`, 1 + 3 + 1 + (1 + 1)},
		{`{"e":{"L":[]},"f":{"M":{}}}`, 1 + 3 + 1 + 3},
	}
	for _, tc := range cases {
		var it item
		if err := json.Unmarshal([]byte(tc.item), &it); err != nil {
			t.Fatal(err)
		}
		if got := itemSize(it); got != tc.want {
			t.Errorf("itemSize(%s) = %d, want %d", tc.item, got, tc.want)
		}
	}
}

func TestRemovedAttributesReadsTheRemoveClause(t *testing.T) {
	names := map[string]string{"#a": "gsi1pk", "#set": "x"}
	cases := map[string][]string{
		"REMOVE #a, gsi1sk":                 {"gsi1pk", "gsi1sk"},
		"SET n = :n REMOVE #a":              {"gsi1pk"},
		"remove #a SET n = :add":            {"gsi1pk"},
		"SET #set = :remove ADD c :one":     nil,
		"REMOVE m.k, l[0], top DELETE s :v": {"top"},
	}
	for expr, want := range cases {
		if got := removedAttributes(expr, names); !slices.Equal(got, want) {
			t.Errorf("removedAttributes(%q) = %v, want %v", expr, got, want)
		}
	}
}
