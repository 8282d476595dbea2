package dynamoserver_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// evens returns the sort keys gsi1's "even" partition lists, in order.
func evens(t *testing.T, table dynamo.Table) []string {
	t.Helper()
	var got []item
	if err := table.Get("gsi1pk", "even").Index(gsi1).All(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	return sks(got)
}

// indexScanCount counts the entries of gsi1.
func indexScanCount(t *testing.T, c *dynamodb.Client) int32 {
	t.Helper()
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(things), IndexName: aws.String(gsi1)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}

func TestAWriteThatRemovesAnIndexKeyDropsTheItemFromTheIndex(t *testing.T) {
	ctx := context.Background()
	plain := map[string]types.AttributeValue{"pk": str("h"), "sk": str("a"), "n": num("1")}
	removeAll := &types.Update{TableName: aws.String(things), Key: key("h", "a"), UpdateExpression: aws.String("REMOVE gsi1pk, gsi1sk")}
	cases := []struct {
		name  string
		write func(c *dynamodb.Client, table dynamo.Table) error
	}{
		{"guregu Update Remove", func(_ *dynamodb.Client, table dynamo.Table) error {
			return table.Update("pk", "h").Range("sk", "a").Remove("gsi1pk", "gsi1sk").Run(ctx)
		}},
		{"UpdateItem removing the range key only", func(c *dynamodb.Client, _ dynamo.Table) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", "a"),
				UpdateExpression: aws.String("REMOVE #r"), ExpressionAttributeNames: map[string]string{"#r": "gsi1sk"}})
			return err
		}},
		{"PutItem", func(c *dynamodb.Client, _ dynamo.Table) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(things), Item: plain})
			return err
		}},
		{"TransactWriteItems Update", func(c *dynamodb.Client, _ dynamo.Table) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: removeAll}}})
			return err
		}},
		{"TransactWriteItems Put", func(c *dynamodb.Client, _ dynamo.Table) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(things), Item: plain}}}})
			return err
		}},
		{"BatchWriteItem", func(c *dynamodb.Client, _ dynamo.Table) error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				things: {{PutRequest: &types.PutRequest{Item: plain}}}}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, table := setup(t)
			c := noRetry(srv)
			if err := tc.write(c, table); err != nil {
				t.Fatal(err)
			}
			if got, want := evens(t, table), []string{"c", "e", "g", "i", "a"}; !slices.Equal(got, want) {
				t.Fatalf("index lists %v, want %v (h/a gone, other/a kept)", got, want)
			}
			if n := indexScanCount(t, c); n != 5 {
				t.Fatalf("index scan counts %d entries", n)
			}
			if getItem(t, c, key("h", "a")) == nil {
				t.Fatal("the item left the table too")
			}
			if err := table.Update("pk", "h").Range("sk", "a").Set("gsi1pk", "even").Set("gsi1sk", "05").Run(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := evens(t, table), []string{"c", "e", "a", "g", "i", "a"}; !slices.Equal(got, want) {
				t.Fatalf("after rejoining, the index lists %v, want %v", got, want)
			}
		})
	}
}

func TestAnUpdateThatAddsAnItemToAnIndexKeepsTheIndexWhole(t *testing.T) {
	srv, _, table := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	// minidyn's own UpdateItem overwrites the index's first entry here, and
	// the index then answers nothing.
	if err := table.Update("pk", "h").Range("sk", "b").Set("gsi1pk", "even").Set("gsi1sk", "01").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := evens(t, table), []string{"a", "b", "c", "e", "g", "i", "a"}; !slices.Equal(got, want) {
		t.Fatalf("index lists %v, want %v", got, want)
	}
	if err := table.Update("pk", "new").Range("sk", "1").Set("gsi1pk", "even").Set("gsi1sk", "07").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := evens(t, table), []string{"a", "b", "c", "e", "g", "1", "i", "a"}; !slices.Equal(got, want) {
		t.Fatalf("index lists %v, want %v", got, want)
	}
	if n := indexScanCount(t, c); n != 8 {
		t.Fatalf("index scan counts %d entries", n)
	}
}

func TestUpdateRemovesAttributesAndReportsThem(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	update := func(mode types.ReturnValue) map[string]types.AttributeValue {
		out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(things), Key: key("h", "c"),
			UpdateExpression:          aws.String("SET n = :n REMOVE gsi1pk, gsi1sk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("42")}, ReturnValues: mode})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	names := func(m map[string]types.AttributeValue) string {
		var out []string
		for n := range m {
			out = append(out, n)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if got := names(update(types.ReturnValueUpdatedOld)); got != "gsi1pk gsi1sk n" {
		t.Fatalf("UPDATED_OLD returned %s", got)
	}
	if got := names(update(types.ReturnValueAllNew)); got != "n pk sk" {
		t.Fatalf("ALL_NEW returned %s", got)
	}
	if got := names(getItem(t, c, key("h", "c"))); got != "n pk sk" {
		t.Fatalf("the item holds %s", got)
	}
}

func TestReadersNeverSeeAnItemMissingWhileItLeavesAndRejoinsAnIndex(t *testing.T) {
	srv, _, table := setup(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var misses []string
	for range 4 {
		wg.Go(func() {
			c := noRetry(srv)
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(things), Key: key("h", "a"), ConsistentRead: aws.Bool(true)})
				var all []item
				qerr := dynamo.NewFromIface(c).Table(things).Get("pk", "h").Consistent(true).All(ctx, &all)
				if err != nil || out.Item == nil || qerr != nil || len(all) != 10 {
					mu.Lock()
					misses = append(misses, "read")
					mu.Unlock()
				}
			}
		})
	}
	for i := range 40 {
		u := table.Update("pk", "h").Range("sk", "a").Remove("gsi1pk", "gsi1sk")
		if i%2 == 1 {
			u = table.Update("pk", "h").Range("sk", "a").Set("gsi1pk", "even").Set("gsi1sk", "00")
		}
		if err := u.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(misses) > 0 {
		t.Fatalf("%d reads did not find the item", len(misses))
	}
	if got := evens(t, table); !slices.Equal(got, []string{"a", "c", "e", "g", "i", "a"}) {
		t.Fatalf("index lists %v", got)
	}
}
