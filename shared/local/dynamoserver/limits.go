package dynamoserver

import (
	"fmt"
	"regexp"
	"strings"
)

// DynamoDB's own messages for the limits the layer enforces. Sources:
// DynamoDB's answers as recorded by public conformance suites and by
// dynalite and moto, which copy them.
const (
	msgItemTooLarge       = "Item size has exceeded the maximum allowed size"
	msgUpdateTooLarge     = "Item size to update has exceeded the maximum allowed size"
	msgDuplicateKeys      = "Provided list of item keys contains duplicates"
	msgSameItemTwice      = "Transaction request cannot include multiple operations on one item"
	msgTransactionTooBig  = "Transaction request cannot be larger than 4 MB"
	msgBatchGetTooMany    = "Too many items requested for the BatchGetItem call"
	msgBatchWriteTooMany  = "Too many items requested for the BatchWriteItem call"
	msgGSIConsistentRead  = "Consistent reads are not supported on global secondary indexes"
	msgEmptyIndexByUpdate = "One or more parameter values are not valid. The update expression attempted to update a " +
		"secondary index key to a value that is not supported. The AttributeValue for a key attribute cannot contain an " +
		"empty string value."
)

// Request limits.
const (
	maxTransactionActions = 100
	maxBatchGetKeys       = 100
	maxBatchWriteRequests = 25
)

func emptyKindOf(s scalar) string {
	if s.typ == "B" {
		return "binary"
	}
	return "string"
}

// checkKey refuses a key (of GetItem, UpdateItem, DeleteItem, a batch or a
// transaction) with an empty string or binary key attribute.
func checkKey(t *tableSchema, key item) *apiError {
	for _, n := range t.keys.names() {
		if s, ok := scalarOf(key[n]); ok && s.empty() {
			return validation(fmt.Sprintf("One or more parameter values are not valid. The AttributeValue for a key attribute "+
				"cannot contain an empty %s value. Key: %s", emptyKindOf(s), n))
		}
	}
	return nil
}

// checkItem refuses an item to put with an empty key attribute, an empty
// index key attribute (indexes by name, as DynamoDB reports the first), or
// a size over 400 KB.
func checkItem(t *tableSchema, it item) *apiError {
	if e := checkKey(t, it); e != nil {
		return e
	}
	for _, ix := range t.indexes {
		for _, n := range ix.keys.names() {
			if s, ok := scalarOf(it[n]); ok && s.empty() {
				return validation(fmt.Sprintf("One or more parameter values are not valid. A value specified for a secondary "+
					"index key is not supported. The AttributeValue for a key attribute cannot contain an empty %s value. "+
					"IndexName: %s, IndexKey: %s", emptyKindOf(s), ix.name, n))
			}
		}
	}
	if itemSize(it) > maxItemBytes {
		return validation(msgItemTooLarge)
	}
	return nil
}

// checkUpdated refuses the result of an update: an index key made empty,
// or an item grown over 400 KB. (DynamoDB sizes a standalone UpdateItem
// by what it writes in some regions; the layer sizes the whole item, as
// DynamoDB does for every other write.)
func checkUpdated(t *tableSchema, it item) *apiError {
	for _, ix := range t.indexes {
		for _, n := range ix.keys.names() {
			if s, ok := scalarOf(it[n]); ok && s.empty() {
				return validation(msgEmptyIndexByUpdate)
			}
		}
	}
	if itemSize(it) > maxItemBytes {
		return validation(msgUpdateTooLarge)
	}
	return nil
}

var (
	// keyComparison finds "name op :value" and "name BETWEEN :a AND :b"
	// in a key condition; keyFunction finds begins_with(name, :value).
	keyComparison = regexp.MustCompile(
		`([#A-Za-z0-9_.]+)\s*(?:=|<=|<|>=|>|(?i:BETWEEN))\s*(:[A-Za-z0-9_]+)(?:\s+(?i:AND)\s+(:[A-Za-z0-9_]+))?`)
	keyFunction = regexp.MustCompile(`(?i:begins_with)\s*\(\s*([#A-Za-z0-9_.]+)\s*,\s*(:[A-Za-z0-9_]+)\s*\)`)
)

// checkKeyCondition refuses a key condition comparing a key attribute
// with an empty string or binary.
func checkKeyCondition(expr string, names map[string]string, values item) *apiError {
	matches := append(keyComparison.FindAllStringSubmatch(expr, -1), keyFunction.FindAllStringSubmatch(expr, -1)...)
	for _, m := range matches {
		attr := m[1]
		if strings.HasPrefix(attr, "#") {
			attr = names[attr]
		}
		for _, placeholder := range m[2:] {
			if s, ok := scalarOf(values[placeholder]); ok && s.empty() {
				return validation(fmt.Sprintf("One or more parameter values are not valid. The AttributeValue for a key "+
					"attribute cannot contain an empty %s value. Key: %s", emptyKindOf(s), attr))
			}
		}
	}
	return nil
}

// transactionTooLong is DynamoDB's answer to more than 100 actions (it
// echoes the list, which the layer summarises).
func transactionTooLong(n int) *apiError {
	return validation(fmt.Sprintf("1 validation error detected: Value '[%d TransactItems]' at 'transactItems' failed to "+
		"satisfy constraint: Member must have length less than or equal to %d", n, maxTransactionActions))
}

// transactionEmpty is DynamoDB's answer to a transaction without actions.
func transactionEmpty() *apiError {
	return validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: " +
		"Member must have length greater than or equal to 1")
}

// batchWriteTooLong is DynamoDB's answer to a table with more than 25 (or
// no) write requests in one BatchWriteItem.
func batchWriteTooLong(table string, n int) *apiError {
	return validation(fmt.Sprintf("1 validation error detected: Value '{%s=[%d WriteRequests]}' at 'requestItems' failed "+
		"to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to %d, "+
		"Member must have length greater than or equal to 1]", table, n, maxBatchWriteRequests))
}

// batchGetTooLong is DynamoDB's answer to a table with more than 100 keys
// in one BatchGetItem.
func batchGetTooLong(table string) *apiError {
	return validation(fmt.Sprintf("1 validation error detected: Value at 'RequestItems.%s.member.Keys' failed to satisfy "+
		"constraint: Member must have length less than or equal to %d", table, maxBatchGetKeys))
}
