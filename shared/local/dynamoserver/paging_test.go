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

// page is one Query or Scan answer, reduced to what paging tests check.
type page struct {
	sks      []string
	scanned  int32
	lastSK   string
	lastKeys []string // the attribute names of LastEvaluatedKey
	next     map[string]types.AttributeValue
}

func pageOf(items []map[string]types.AttributeValue, scanned int32, last map[string]types.AttributeValue) page {
	p := page{scanned: scanned, next: last}
	for _, it := range items {
		p.sks = append(p.sks, it["sk"].(*types.AttributeValueMemberS).Value)
	}
	if last != nil {
		p.lastSK = last["sk"].(*types.AttributeValueMemberS).Value
		for n := range last {
			p.lastKeys = append(p.lastKeys, n)
		}
		slices.Sort(p.lastKeys)
	}
	return p
}

// queryPages runs a Query page by page until it ends.
func queryPages(t *testing.T, c *dynamodb.Client, in dynamodb.QueryInput) []page {
	t.Helper()
	var pages []page
	for len(pages) < 50 {
		out, err := c.Query(context.Background(), &in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pageOf(out.Items, out.ScannedCount, out.LastEvaluatedKey))
		if in.ExclusiveStartKey = out.LastEvaluatedKey; out.LastEvaluatedKey == nil {
			return pages
		}
	}
	t.Fatal("the query never ended")
	return nil
}

// scanPages runs a Scan page by page until it ends.
func scanPages(t *testing.T, c *dynamodb.Client, in dynamodb.ScanInput) []page {
	t.Helper()
	var pages []page
	for len(pages) < 50 {
		out, err := c.Scan(context.Background(), &in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pageOf(out.Items, out.ScannedCount, out.LastEvaluatedKey))
		if in.ExclusiveStartKey = out.LastEvaluatedKey; out.LastEvaluatedKey == nil {
			return pages
		}
	}
	t.Fatal("the scan never ended")
	return nil
}

func allSKs(pages []page) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p.sks...)
	}
	return out
}

func TestQueryAndScanPagesStopAtOneMegabyte(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	for i := 1; i <= 5; i++ { // five items of 300,000 bytes: the fourth crosses 1 MB
		it := sized("big", fmt.Sprint(i), 300_000)
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(others), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"1", "2", "3", "4", "5"}
	for name, pages := range map[string][]page{
		"query": queryPages(t, c, dynamodb.QueryInput{TableName: aws.String(others), KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("big")}}),
		"scan": scanPages(t, c, dynamodb.ScanInput{TableName: aws.String(others)}),
	} {
		if len(pages) != 2 || len(pages[0].sks) != 4 || pages[0].lastSK != "4" || pages[0].scanned != 4 {
			t.Fatalf("%s: pages %+v, want 4 items then 1", name, pages)
		}
		if got := allSKs(pages); !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
	}
	var all []item
	if err := dynamo.NewFromIface(c).Table(others).Get("pk", "big").All(ctx, &all); err != nil || len(all) != 5 {
		t.Fatalf("guregu reads %d items across the pages: %v", len(all), err)
	}
}

func TestALimitedQueryWithAFilterReadsOnlyItsPartition(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	in := dynamodb.QueryInput{TableName: aws.String(things), KeyConditionExpression: aws.String("pk = :p"),
		FilterExpression: aws.String("n > :n"), Limit: aws.Int32(3),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("h"), ":n": num("6")}}
	pages := queryPages(t, c, in)
	if got := allSKs(pages); !slices.Equal(got, []string{"h", "i", "j"}) {
		t.Fatalf("items %v", got)
	}
	if len(pages) != 4 || pages[0].scanned != 3 || len(pages[0].sks) != 0 || pages[0].lastSK != "c" {
		t.Fatalf("pages %+v: want 3 read (a, b, c), none kept, then on from c", pages)
	}
	in.ExpressionAttributeValues[":p"], in.ExpressionAttributeValues[":n"] = str("other"), num("-1")
	if pages := queryPages(t, c, in); len(pages) != 1 || !slices.Equal(pages[0].sks, []string{"a"}) {
		t.Fatalf("the other partition: %+v", pages)
	}
}

func TestAnIndexPageEndsAtTheTableAndIndexKeysOfItsLastItem(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	pages := queryPages(t, c, dynamodb.QueryInput{TableName: aws.String(things), IndexName: aws.String(gsi1), Limit: aws.Int32(2),
		KeyConditionExpression: aws.String("gsi1pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("even")}})
	if got := allSKs(pages); !slices.Equal(got, []string{"a", "c", "e", "g", "i", "a"}) {
		t.Fatalf("items %v", got)
	}
	if got := strings.Join(pages[0].lastKeys, " "); got != "gsi1pk gsi1sk pk sk" {
		t.Fatalf("LastEvaluatedKey has %s", got)
	}
	scanned := scanPages(t, c, dynamodb.ScanInput{TableName: aws.String(things), Limit: aws.Int32(4)})
	if got := allSKs(scanned); len(got) != 11 || len(scanned) != 3 {
		t.Fatalf("a scan 4 at a time read %v in %d pages", got, len(scanned))
	}
}

func TestNumericSortKeysAreOrderedByValue(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("numbers"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"10", "2", "-1", "9", "1.5"} {
		item := map[string]types.AttributeValue{"pk": str("p"), "sk": num(n)}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("numbers"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	query := func(forward bool) []string {
		var got []string
		in := &dynamodb.QueryInput{TableName: aws.String("numbers"), KeyConditionExpression: aws.String("pk = :p"), Limit: aws.Int32(2),
			ScanIndexForward: aws.Bool(forward), ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("p")}}
		for range 10 {
			out, err := c.Query(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				got = append(got, numberOf(it, "sk"))
			}
			if in.ExclusiveStartKey = out.LastEvaluatedKey; in.ExclusiveStartKey == nil {
				break
			}
		}
		return got
	}
	if got := query(true); !slices.Equal(got, []string{"-1", "1.5", "2", "9", "10"}) {
		t.Fatalf("ascending %v", got)
	}
	if got := query(false); !slices.Equal(got, []string{"10", "9", "2", "1.5", "-1"}) {
		t.Fatalf("descending %v", got)
	}
}

func TestSelectCountCountsWithoutItems(t *testing.T) {
	srv, _, _ := setup(t)
	out, err := noRetry(srv).Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(things),
		KeyConditionExpression: aws.String("pk = :p"), Select: types.SelectCount,
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("h")}})
	if err != nil || out.Count != 10 || out.ScannedCount != 10 || out.Items != nil {
		t.Fatalf("count %d, scanned %d, %d items, %v", out.Count, out.ScannedCount, len(out.Items), err)
	}
}
