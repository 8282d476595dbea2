package dynamoserver_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

func TestATransactionOnAnItemOfAnInFlightTransactionIsCancelledWithTransactionConflict(t *testing.T) {
	srv, db, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	srv.ResetCalls()
	finish := startHeldTransaction(t, srv, c, setN("100"))

	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(things), Item: key("new", "1")}},
		setN("200"),
	}})
	if codes := cancellationCodes(t, err); !slices.Equal(codes, []string{"None", "TransactionConflict"}) {
		t.Fatalf("reasons %v", codes)
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce); aws.ToString(tce.CancellationReasons[1].Message) != "Transaction is ongoing for the item" {
		t.Fatalf("reason message %q", aws.ToString(tce.CancellationReasons[1].Message))
	}
	// guregu/dynamo sees the same error, and not as a failed condition.
	tx := db.WriteTx()
	tx.Update(db.Table(things).Update("pk", "h").Range("sk", "a").Set("n", 300))
	if err := tx.Run(ctx); !errors.As(err, &tce) || dynamo.IsCondCheckFailed(err) {
		t.Fatalf("guregu transaction: %v", err)
	}
	if getItem(t, c, key("new", "1")) != nil {
		t.Fatal("the cancelled transaction wrote its other item")
	}
	if err := finish(); err != nil {
		t.Fatalf("the held transaction: %v", err)
	}
	if n := numberOf(getItem(t, c, key("h", "a")), "n"); n != "100" {
		t.Fatalf("n = %s, want the held transaction's 100", n)
	}
	if got := srv.Conflicts(); got != 2 {
		t.Fatalf("%d conflicts counted, want 2", got)
	}
}

func TestSingleItemWritesOnAnItemOfAnInFlightTransactionFailWithTransactionConflictException(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		write func(c *dynamodb.Client, db *dynamo.DB) error
	}{
		{"PutItem", func(c *dynamodb.Client, _ *dynamo.DB) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: key("h", "a")})
			return err
		}},
		{"UpdateItem", func(c *dynamodb.Client, _ *dynamo.DB) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", "a"),
				UpdateExpression: aws.String("SET n = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("5")}})
			return err
		}},
		{"DeleteItem", func(c *dynamodb.Client, _ *dynamo.DB) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(things), Key: key("h", "a")})
			return err
		}},
		{"guregu Update", func(_ *dynamodb.Client, db *dynamo.DB) error {
			return db.Table(things).Update("pk", "h").Range("sk", "a").Set("n", 5).Run(ctx)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, db, _ := setup(t)
			c := noRetry(srv)
			finish := startHeldTransaction(t, srv, c, setN("100"))
			err := tc.write(c, db)
			if _, ok := errors.AsType[*types.TransactionConflictException](err); !ok {
				t.Fatalf("error %v, want a TransactionConflictException", err)
			}
			wantAPIError(t, err, "TransactionConflictException", "Transaction is ongoing for the item")
			if err := finish(); err != nil {
				t.Fatal(err)
			}
			if n := numberOf(getItem(t, c, key("h", "a")), "n"); n != "100" {
				t.Fatalf("n = %q: the refused write landed or the transaction did not", n)
			}
			if srv.Conflicts() != 1 {
				t.Fatalf("%d conflicts counted", srv.Conflicts())
			}
		})
	}
}

func TestATransactGetOfAnItemBeingWrittenIsCancelled(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	finish := startHeldTransaction(t, srv, c, setN("100"))
	get := func(sks ...string) error {
		in := &dynamodb.TransactGetItemsInput{}
		for _, sk := range sks {
			in.TransactItems = append(in.TransactItems, types.TransactGetItem{Get: &types.Get{TableName: aws.String(things), Key: key("h", sk)}})
		}
		_, err := c.TransactGetItems(ctx, in)
		return err
	}
	if codes := cancellationCodes(t, get("b", "a")); !slices.Equal(codes, []string{"None", "TransactionConflict"}) {
		t.Fatalf("reasons %v", codes)
	}
	if err := get("b", "c"); err != nil {
		t.Fatalf("items no write touches: %v", err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if err := get("b", "a"); err != nil {
		t.Fatalf("after the transaction: %v", err)
	}
}

func TestABatchWriteLeavesItsRequestsOnItemsOfAnInFlightTransactionUnprocessed(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	finish := startHeldTransaction(t, srv, c, setN("100"))
	put := func(sk string) types.WriteRequest {
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": str("h"), "sk": str(sk), "n": num("7")}}}
	}
	out, err := c.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
		RequestItems: map[string][]types.WriteRequest{things: {put("a"), put("z")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	left := out.UnprocessedItems[things]
	if len(left) != 1 || left[0].PutRequest.Item["sk"].(*types.AttributeValueMemberS).Value != "a" {
		t.Fatalf("unprocessed %v", out.UnprocessedItems)
	}
	if numberOf(getItem(t, c, key("h", "z")), "n") != "7" {
		t.Fatal("the batch's other request was not performed")
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if n := numberOf(getItem(t, c, key("h", "a")), "n"); n != "100" {
		t.Fatalf("n = %s", n)
	}
}

func TestRequestsOnOtherItemsProceedWhileATransactionIsHeld(t *testing.T) {
	srv, _, table := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	finish := startHeldTransaction(t, srv, c, setN("100"))
	if err := table.Put(item{PK: "h", SK: "b", N: 1}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := table.Delete("pk", "h").Range("sk", "c").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := numberOf(getItem(t, c, key("h", "a")), "n"); n != "0" {
		t.Fatalf("a read of the held item sees n = %s before the transaction applies", n)
	}
	var got []item
	if err := table.Get("gsi1pk", "even").Index(gsi1).All(ctx, &got); err != nil || len(got) != 5 {
		t.Fatalf("index query: %d items, %v", len(got), err)
	}
	if srv.InFlightTransactions() != 1 {
		t.Fatal("the held transaction finished early")
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
}

func TestConflictsCanBeSwitchedOff(t *testing.T) {
	srv, _, _ := setup(t)
	srv.SetConflicts(false)
	c := noRetry(srv)
	ctx := context.Background()
	finish := startHeldTransaction(t, srv, c, setN("100"))
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things),
		Item: map[string]types.AttributeValue{"pk": str("h"), "sk": str("a"), "n": num("5")}}); err != nil {
		t.Fatalf("a write during the transaction: %v", err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if n := numberOf(getItem(t, c, key("h", "a")), "n"); n != "100" {
		t.Fatalf("n = %s, want the transaction's, applied after the write", n)
	}
	if srv.Conflicts() != 0 {
		t.Fatalf("%d conflicts with the emulation off", srv.Conflicts())
	}
}

func TestAFailedTransactionReleasesItsItems(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		prepare func(srv interface{ FailTable(string, bool) })
		action  types.TransactWriteItem
		wantErr string
	}{
		{"condition fails", nil, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(things), Item: key("h", "a"),
			ConditionExpression: aws.String("attribute_not_exists(pk)")}}, "TransactionCanceledException"},
		{"bad update expression", nil, types.TransactWriteItem{Update: &types.Update{TableName: aws.String(things), Key: key("h", "a"),
			UpdateExpression: aws.String("SET")}}, "ValidationException"},
		{"the table fails", func(srv interface{ FailTable(string, bool) }) { srv.FailTable(things, true) }, setN("1"),
			"InternalServerError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, _ := setup(t)
			c := noRetry(srv)
			if tc.prepare != nil {
				tc.prepare(srv)
			}
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{tc.action}})
			wantAPIError(t, err, tc.wantErr, "")
			srv.FailTable(things, false)
			if srv.InFlightTransactions() != 0 {
				t.Fatal("the failed transaction is still in flight")
			}
			if _, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{setN("9")}}); err != nil {
				t.Fatalf("the item is still claimed: %v", err)
			}
		})
	}
}

func TestACancelledTransactionListsEveryActionsReason(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	_, err := c.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(things), Item: key("fresh", "1"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: aws.String(things), Item: key("h", "a"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	if codes := cancellationCodes(t, err); !slices.Equal(codes, []string{"None", "ConditionalCheckFailed"}) {
		t.Fatalf("reasons %v", codes)
	}
	if !dynamo.IsCondCheckFailed(err) {
		t.Fatal("guregu/dynamo does not see a failed condition")
	}
	if getItem(t, c, key("fresh", "1")) != nil {
		t.Fatal("the cancelled transaction wrote")
	}
}
