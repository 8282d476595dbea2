package dynamoserver_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// wantEmptyListAndMap fails t unless it holds l, an empty list, and m, an
// empty map (minidyn alone answers both as {}, which the SDK decodes as nil).
func wantEmptyListAndMap(t *testing.T, how string, it map[string]types.AttributeValue) {
	t.Helper()
	l, okL := it["l"].(*types.AttributeValueMemberL)
	m, okM := it["m"].(*types.AttributeValueMemberM)
	if !okL || !okM || len(l.Value) != 0 || len(m.Value) != 0 {
		t.Fatalf("%s: l = %#v, m = %#v", how, it["l"], it["m"])
	}
}

func TestEmptyListsAndMapsReadBackAndSurviveWrites(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	it := key("h", "z")
	it["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: it}); err != nil {
		t.Fatal(err)
	}
	// A cancelled transaction: minidyn's rollback used to turn every empty
	// list and map of the table into a value of no type.
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(things), Key: key("h", "a"), ConditionExpression: aws.String("n = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("12")}}},
	}})
	cancellationCodes(t, err)
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", "z"),
		UpdateExpression:          aws.String("SET n = :n"),
		ConditionExpression:       aws.String("attribute_type(l, :l) AND attribute_type(m, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("1"), ":l": str("L"), ":m": str("M")},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		t.Fatalf("an update conditioned on the types: %v", err)
	}
	wantEmptyListAndMap(t, "GetItem", getItem(t, c, key("h", "z")))
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(things), KeyConditionExpression: aws.String("pk = :p AND sk = :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("h"), ":s": str("z")}})
	if err != nil || len(q.Items) != 1 {
		t.Fatalf("query: %v", err)
	}
	wantEmptyListAndMap(t, "Query", q.Items[0])
	b, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		things: {Keys: []map[string]types.AttributeValue{key("h", "z")}}}})
	if err != nil || len(b.Responses[things]) != 1 {
		t.Fatalf("batch get: %v", err)
	}
	wantEmptyListAndMap(t, "BatchGetItem", b.Responses[things][0])
	g, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String(things), Key: key("h", "z")}}}})
	if err != nil {
		t.Fatalf("transact get: %v", err)
	}
	wantEmptyListAndMap(t, "TransactGetItems", g.Responses[0].Item)
}
