package dynamoserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

const (
	maxItem      = 409600 // DynamoDB accepts an item of exactly 400 KB
	putTooLarge  = "Item size has exceeded the maximum allowed size"
	updTooLarge  = "Item size to update has exceeded the maximum allowed size"
	emptyKeyText = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: "
)

// sized returns item pk/sk of things padded with attribute p to exactly
// size bytes by DynamoDB's measure (names plus values).
func sized(pk, sk string, size int) map[string]types.AttributeValue {
	it := key(pk, sk)
	pad := size - len("pk") - len(pk) - len("sk") - len(sk) - len("p")
	it["p"] = str(strings.Repeat("x", pad))
	return it
}

func TestItemsOverFourHundredKilobytesAreRefusedOnEveryWrite(t *testing.T) {
	ctx := context.Background()
	put := func(c *dynamodb.Client, size int) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: sized("big", "1", size)})
		return err
	}
	batch := func(c *dynamodb.Client, size int) error {
		_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
			things: {{PutRequest: &types.PutRequest{Item: sized("big", "1", size)}}},
		}})
		return err
	}
	transactPut := func(c *dynamodb.Client, size int) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(things), Item: sized("big", "1", size)}},
		}})
		return err
	}
	update := func(c *dynamodb.Client, size int) error {
		_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("big", "1"),
			UpdateExpression:          aws.String("SET p = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": sized("big", "1", size)["p"]}})
		return err
	}
	transactUpdate := func(c *dynamodb.Client, size int) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String(things), Key: key("big", "1"), UpdateExpression: aws.String("SET p = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": sized("big", "1", size)["p"]}}},
		}})
		return err
	}
	cases := []struct {
		name   string
		write  func(*dynamodb.Client, int) error
		refuse func(*testing.T, error)
	}{
		{"PutItem", put, func(t *testing.T, err error) { wantAPIError(t, err, "ValidationException", putTooLarge) }},
		{"BatchWriteItem", batch, func(t *testing.T, err error) { wantAPIError(t, err, "ValidationException", putTooLarge) }},
		{"TransactWriteItems Put", transactPut, func(t *testing.T, err error) { wantAPIError(t, err, "ValidationException", putTooLarge) }},
		{"UpdateItem", update, func(t *testing.T, err error) { wantAPIError(t, err, "ValidationException", updTooLarge) }},
		{"TransactWriteItems Update", transactUpdate, func(t *testing.T, err error) {
			if codes := cancellationCodes(t, err); !slices.Equal(codes, []string{"ValidationError"}) {
				t.Fatalf("reasons %v", codes)
			}
			wantAPIError(t, err, "TransactionCanceledException", "")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, _ := setup(t)
			c := noRetry(srv)
			if err := tc.write(c, maxItem); err != nil {
				t.Fatalf("an item of exactly 400 KB: %v", err)
			}
			tc.refuse(t, tc.write(c, maxItem+1))
			want := sized("big", "1", maxItem)["p"]
			if got := getItem(t, c, key("big", "1")); len(got["p"].(*types.AttributeValueMemberS).Value) != len(want.(*types.AttributeValueMemberS).Value) {
				t.Fatal("the refused write changed the item")
			}
		})
	}
}

func TestTransactionLimits(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	puts := func(n, size int) []types.TransactWriteItem {
		var out []types.TransactWriteItem
		for i := range n {
			out = append(out, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(things), Item: sized("tx", fmt.Sprint(i), size)}})
		}
		return out
	}
	gets := func(sks ...string) []types.TransactGetItem {
		var out []types.TransactGetItem
		for _, sk := range sks {
			out = append(out, types.TransactGetItem{Get: &types.Get{TableName: aws.String(things), Key: key("h", sk)}})
		}
		return out
	}
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprint(i))
	}
	write := func(actions []types.TransactWriteItem) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		return err
	}
	read := func(items []types.TransactGetItem) error {
		_, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: items})
		return err
	}
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"101 writes", write(puts(101, 100)), "failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"over 4 MB", write(puts(11, 390_000)), "Transaction request cannot be larger than 4 MB"},
		{"one item twice", write([]types.TransactWriteItem{setN("1"), setN("2")}),
			"Transaction request cannot include multiple operations on one item"},
		{"101 reads", read(gets(many...)), "failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"one read twice", read(gets("a", "a")), "Transaction request cannot include multiple operations on one item"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err, "ValidationException", tc.msg) })
	}
	if getItem(t, c, key("tx", "0")) != nil {
		t.Fatal("a refused transaction wrote")
	}
	if err := write(puts(100, 100)); err != nil {
		t.Fatalf("100 actions: %v", err)
	}
}

func TestBatchLimits(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	keys := func(n int) []map[string]types.AttributeValue {
		var out []map[string]types.AttributeValue
		for i := range n {
			out = append(out, key("b", fmt.Sprint(i)))
		}
		return out
	}
	puts := func(n int) []types.WriteRequest {
		var out []types.WriteRequest
		for _, k := range keys(n) {
			out = append(out, types.WriteRequest{PutRequest: &types.PutRequest{Item: k}})
		}
		return out
	}
	get := func(items map[string]types.KeysAndAttributes) error {
		_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: items})
		return err
	}
	write := func(items map[string][]types.WriteRequest) error {
		_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
		return err
	}
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"101 keys", get(map[string]types.KeysAndAttributes{things: {Keys: keys(101)}}),
			"Value at 'RequestItems.things.member.Keys' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"101 keys over two tables", get(map[string]types.KeysAndAttributes{things: {Keys: keys(51)}, others: {Keys: keys(50)}}),
			"Too many items requested for the BatchGetItem call"},
		{"a key twice", get(map[string]types.KeysAndAttributes{things: {Keys: append(keys(2), key("b", "1"))}}),
			"Provided list of item keys contains duplicates"},
		{"26 writes", write(map[string][]types.WriteRequest{things: puts(26)}),
			"Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"},
		{"26 writes over two tables", write(map[string][]types.WriteRequest{things: puts(13), others: puts(13)}),
			"Too many items requested for the BatchWriteItem call"},
		{"an item put and deleted", write(map[string][]types.WriteRequest{things: append(puts(2),
			types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key("b", "0")}})}),
			"Provided list of item keys contains duplicates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err, "ValidationException", tc.msg) })
	}
	if getItem(t, c, key("b", "0")) != nil {
		t.Fatal("a refused batch wrote")
	}
}

func TestABatchGetReturnsWhatIsBeyondSixteenMegabytesInUnprocessedKeys(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	const n, size = 45, 390_000 // 17.5 MB in all
	var all []map[string]types.AttributeValue
	for batch := 0; batch < n; batch += 15 {
		var reqs []types.WriteRequest
		for i := batch; i < batch+15; i++ {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: sized("big", fmt.Sprintf("%02d", i), size)}})
			all = append(all, key("big", fmt.Sprintf("%02d", i)))
		}
		if _, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{things: reqs}}); err != nil {
			t.Fatal(err)
		}
	}
	pending, seen := all, map[string]bool{}
	for rounds := 0; len(pending) > 0; rounds++ {
		if rounds > 3 {
			t.Fatal("the keys never all came back")
		}
		out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{things: {Keys: pending}}})
		if err != nil {
			t.Fatal(err)
		}
		got := out.Responses[things]
		if len(got)*size > 16<<20 {
			t.Fatalf("a response of %d items of %d bytes", len(got), size)
		}
		for _, it := range got {
			seen[it["sk"].(*types.AttributeValueMemberS).Value] = true
		}
		next := out.UnprocessedKeys[things].Keys
		if rounds == 0 && len(next) == 0 {
			t.Fatal("17.5 MB came back in one response")
		}
		if len(got)+len(next) != len(pending) {
			t.Fatalf("%d items and %d unprocessed keys for %d keys", len(got), len(next), len(pending))
		}
		pending = next
	}
	if len(seen) != n {
		t.Fatalf("%d distinct items read, want %d", len(seen), n)
	}
}

func TestEmptyKeyValuesAreRefused(t *testing.T) {
	ctx := context.Background()
	withGSI := func(pk, sk, gpk string) map[string]types.AttributeValue {
		it := key(pk, sk)
		it["gsi1pk"], it["gsi1sk"] = str(gpk), str("1")
		return it
	}
	cases := []struct {
		name string
		call func(c *dynamodb.Client) error
		msg  string
	}{
		{"PutItem hash key", func(c *dynamodb.Client) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: key("", "1")})
			return err
		}, emptyKeyText + "pk"},
		{"PutItem range key", func(c *dynamodb.Client) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: key("e", "")})
			return err
		}, emptyKeyText + "sk"},
		{"PutItem index key", func(c *dynamodb.Client) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: withGSI("e", "1", "")})
			return err
		}, "A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an " +
			"empty string value. IndexName: gsi1, IndexKey: gsi1pk"},
		{"UpdateItem setting an index key", func(c *dynamodb.Client) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", "a"),
				UpdateExpression: aws.String("SET gsi1pk = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": str("")}})
			return err
		}, "The update expression attempted to update a secondary index key to a value that is not supported"},
		{"UpdateItem key", func(c *dynamodb.Client) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", ""),
				UpdateExpression: aws.String("SET n = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("1")}})
			return err
		}, emptyKeyText + "sk"},
		{"DeleteItem", func(c *dynamodb.Client) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(things), Key: key("", "a")})
			return err
		}, emptyKeyText + "pk"},
		{"GetItem", func(c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(things), Key: key("", "a")})
			return err
		}, emptyKeyText + "pk"},
		{"Query", func(c *dynamodb.Client) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(things), KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("")}})
			return err
		}, emptyKeyText + "pk"},
		{"BatchGetItem", func(c *dynamodb.Client) error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				things: {Keys: []map[string]types.AttributeValue{key("h", "")}}}})
			return err
		}, emptyKeyText + "sk"},
		{"BatchWriteItem", func(c *dynamodb.Client) error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				things: {{PutRequest: &types.PutRequest{Item: key("", "1")}}}}})
			return err
		}, emptyKeyText + "pk"},
		{"TransactWriteItems", func(c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(things), Item: key("", "1")}}}})
			return err
		}, emptyKeyText + "pk"},
		{"TransactGetItems", func(c *dynamodb.Client) error {
			_, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
				{Get: &types.Get{TableName: aws.String(things), Key: key("", "1")}}}})
			return err
		}, emptyKeyText + "pk"},
	}
	srv, _, table := setup(t)
	c := noRetry(srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(c), "ValidationException", tc.msg) })
	}
	var got []item // guregu/dynamo's legacy KeyConditions are checked too
	wantAPIError(t, table.Get("pk", "h").Range("sk", dynamo.Equal, "").All(ctx, &got), "ValidationException", emptyKeyText+"sk")
	if it := getItem(t, c, key("h", "a")); it["gsi1pk"].(*types.AttributeValueMemberS).Value != "even" {
		t.Fatal("the refused update changed the item")
	}
}

func TestQueryRefusesWhatDynamoDBRefuses(t *testing.T) {
	srv, _, table := setup(t)
	ctx := context.Background()
	var got []item
	err := table.Get("gsi1pk", "even").Index(gsi1).Consistent(true).All(ctx, &got)
	wantAPIError(t, err, "ValidationException", "Consistent reads are not supported on global secondary indexes")
	_, err = noRetry(srv).Query(ctx, &dynamodb.QueryInput{TableName: aws.String(things), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("h"), ":unused": str("x")}})
	wantAPIError(t, err, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}")
}
