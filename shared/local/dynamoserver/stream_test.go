package dynamoserver_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wxchannel/shared/local/dynamoserver"
)

// samples is a table without secondary indexes keyed by a number, like
// the table of Lambda's sample DynamoDB event.
const samples = "samples"

// createSamples creates the samples table.
func createSamples(t *testing.T, c *dynamodb.Client) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(samples),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("Id"), AttributeType: types.ScalarAttributeTypeN}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("Id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sampleKey is the key of item id of samples.
func sampleKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"Id": num(id)}
}

// enableStream enables table's stream and returns its ARN.
func enableStream(t *testing.T, srv *dynamoserver.Server, table string) string {
	t.Helper()
	arn, err := srv.EnableStream(table)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// change sums up a record: its event name and its item's key.
func change(r events.DynamoDBEventRecord) string {
	keys := r.Change.Keys
	if id, ok := keys["Id"]; ok {
		return r.EventName + " " + id.Number()
	}
	return r.EventName + " " + keys["pk"].String() + "/" + keys["sk"].String()
}

func changes(records []events.DynamoDBEventRecord) []string {
	out := []string{}
	for _, r := range records {
		out = append(out, change(r))
	}
	return out
}

// lastSequence returns the sequence number of table's last record, "" when
// it has none.
func lastSequence(srv *dynamoserver.Server, table string) string {
	records := srv.StreamRecords(table, "", 0)
	if len(records) == 0 {
		return ""
	}
	return records[len(records)-1].Change.SequenceNumber
}

func put(ctx context.Context, c *dynamodb.Client, table string, it map[string]types.AttributeValue) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it})
	return err
}

// thing is an item of things.
func thing(pk, sk, n string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk), "n": num(n)}
}

// writeStep is a write and the records it must leave in things' stream.
type writeStep struct {
	name  string
	write func() error
	want  []string
}

// everyKindOfWrite returns a write of each kind on setup's tables.
func everyKindOfWrite(ctx context.Context, c *dynamodb.Client) []writeStep {
	return []writeStep{
		{"PutItem of a new item", func() error { return put(ctx, c, things, thing("h", "k", "1")) }, []string{"INSERT h/k"}},
		{"PutItem over it", func() error { return put(ctx, c, things, thing("h", "k", "2")) }, []string{"MODIFY h/k"}},
		{"UpdateItem", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(things), Key: key("h", "k"), UpdateExpression: aws.String("SET n = n + :one"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": num("1")},
			})
			return err
		}, []string{"MODIFY h/k"}},
		{"UpdateItem creating an item", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(things), Key: key("h", "u"), UpdateExpression: aws.String("SET n = :one"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": num("1")},
			})
			return err
		}, []string{"INSERT h/u"}},
		{"DeleteItem", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(things), Key: key("h", "k")})
			return err
		}, []string{"REMOVE h/k"}},
		{"BatchWriteItem", func() error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				things: {
					{PutRequest: &types.PutRequest{Item: thing("h", "b1", "1")}},
					{DeleteRequest: &types.DeleteRequest{Key: key("h", "a")}},
					{PutRequest: &types.PutRequest{Item: thing("h", "c", "30")}},
				},
				others: {{PutRequest: &types.PutRequest{Item: thing("h", "o", "1")}}},
			}})
			return err
		}, []string{"INSERT h/b1", "MODIFY h/c", "REMOVE h/a"}}, // sorted
		{"TransactWriteItems", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(things), Item: thing("h", "t1", "1")}},
				{Update: &types.Update{
					TableName: aws.String(things), Key: key("h", "d"), UpdateExpression: aws.String("SET n = :n"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("40")},
				}},
				{Delete: &types.Delete{TableName: aws.String(things), Key: key("h", "e")}},
				{ConditionCheck: &types.ConditionCheck{
					TableName: aws.String(things), Key: key("h", "f"), ConditionExpression: aws.String("attribute_exists(pk)"),
				}},
				{Put: &types.Put{TableName: aws.String(others), Item: thing("h", "t2", "1")}},
			}})
			return err
		}, []string{"INSERT h/t1", "MODIFY h/d", "REMOVE h/e"}},
	}
}

func TestAStreamRecordsEveryChangeOfEveryKindOfWrite(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	arn := enableStream(t, srv, things)
	for _, step := range everyKindOfWrite(context.Background(), c) {
		after := lastSequence(srv, things)
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := changes(srv.StreamRecords(things, after, 0))
		if step.name == "BatchWriteItem" {
			slices.Sort(got) // a batch's writes have no order
		}
		if !slices.Equal(got, step.want) {
			t.Fatalf("%s: records %v, want %v", step.name, got, step.want)
		}
	}
	records := srv.StreamRecords(things, "", 0)
	checkRecordFields(t, records, arn)
	if got := srv.StreamRecords(others, "", 0); got != nil {
		t.Fatalf("a table without a stream has records: %v", changes(got))
	}
	second := records[1].Change // the put over h/k
	if second.OldImage["n"].Number() != "1" || second.NewImage["n"].Number() != "2" || second.Keys["sk"].String() != "k" {
		t.Fatalf("the put over h/k recorded %+v", second)
	}
}

var (
	streamARNPattern = regexp.MustCompile(`^arn:aws:dynamodb:us-east-1:000000000000:table/things/stream/` +
		`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$`)
	sequencePattern = regexp.MustCompile(`^\d{21,}$`)
	eventIDPattern  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// checkRecordFields checks what every record carries, as Lambda delivers it.
func checkRecordFields(t *testing.T, records []events.DynamoDBEventRecord, arn string) {
	t.Helper()
	if !streamARNPattern.MatchString(arn) {
		t.Fatalf("stream ARN %q", arn)
	}
	ids := map[string]bool{}
	previous := ""
	for _, r := range records {
		if r.EventVersion != "1.1" || r.EventSource != "aws:dynamodb" || r.AWSRegion != "us-east-1" || r.EventSourceArn != arn {
			t.Fatalf("record %s: version %q, source %q, region %q, ARN %q", change(r), r.EventVersion, r.EventSource, r.AWSRegion,
				r.EventSourceArn)
		}
		if r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" || r.Change.SizeBytes <= 0 || r.Change.ApproximateCreationDateTime.IsZero() {
			t.Fatalf("record %s: %+v", change(r), r.Change)
		}
		if !eventIDPattern.MatchString(r.EventID) || ids[r.EventID] {
			t.Fatalf("record %s: event id %q", change(r), r.EventID)
		}
		ids[r.EventID] = true
		seq := r.Change.SequenceNumber
		if !sequencePattern.MatchString(seq) || (previous != "" && (len(seq) != len(previous) || seq <= previous)) {
			t.Fatalf("sequence number %q after %q", seq, previous)
		}
		previous = seq
		hasOld, hasNew := r.Change.OldImage != nil, r.Change.NewImage != nil
		if hasOld != (r.EventName != "INSERT") || hasNew != (r.EventName != "REMOVE") {
			t.Fatalf("record %s: old image %v, new image %v", change(r), r.Change.OldImage, r.Change.NewImage)
		}
	}
}

func TestWritesThatChangeNothingLeaveNoRecord(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	nested := thing("h", "nested", "1") // minidyn answers the nested empty list as {}
	nested["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"e": &types.AttributeValueMemberL{}}}
	if err := put(ctx, c, things, nested); err != nil {
		t.Fatal(err)
	}
	enableStream(t, srv, things)
	ha := getItem(t, c, key("h", "a"))
	hb := getItem(t, c, key("h", "b"))
	notThere := aws.String("attribute_not_exists(pk)")
	cases := []struct {
		name    string
		write   func() error
		refused bool
	}{
		{"a put of an identical item", func() error { return put(ctx, c, things, ha) }, false},
		{"a put of an identical item holding a nested empty list", func() error { return put(ctx, c, things, nested) }, false},
		{"an update setting the values the item has", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(things), Key: key("h", "a"), UpdateExpression: aws.String("SET n = :n, gsi1pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("0"), ":p": str("even")},
			})
			return err
		}, false},
		{"a delete of a missing item", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(things), Key: key("h", "zz")})
			return err
		}, false},
		{"a batch putting an identical item and deleting a missing one", func() error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{things: {
				{PutRequest: &types.PutRequest{Item: hb}}, {DeleteRequest: &types.DeleteRequest{Key: key("h", "zz")}},
			}}})
			return err
		}, false},
		{"a transaction putting an identical item and deleting a missing one", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(things), Item: hb}},
				{Delete: &types.Delete{TableName: aws.String(things), Key: key("h", "zz")}},
			}})
			return err
		}, false},
		{"a put whose condition fails", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(things), Item: thing("h", "a", "5"), ConditionExpression: notThere,
			})
			return err
		}, true},
		{"an update whose condition fails", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(things), Key: key("h", "a"), UpdateExpression: aws.String("SET n = :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("5")}, ConditionExpression: notThere,
			})
			return err
		}, true},
		{"a delete whose condition fails", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(things), Key: key("h", "a"), ConditionExpression: notThere})
			return err
		}, true},
		{"a cancelled transaction", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(things), Item: thing("h", "new", "1")}},
				{ConditionCheck: &types.ConditionCheck{TableName: aws.String(things), Key: key("h", "b"), ConditionExpression: notThere}},
			}})
			return err
		}, true},
	}
	for _, tc := range cases {
		if err := tc.write(); (err != nil) != tc.refused {
			t.Fatalf("%s: error %v", tc.name, err)
		}
		if got := srv.StreamRecords(things, "", 0); len(got) != 0 {
			t.Fatalf("%s left records %v", tc.name, changes(got))
		}
	}
	nested["n"] = num("2")
	if err := put(ctx, c, things, nested); err != nil {
		t.Fatal(err)
	}
	records := srv.StreamRecords(things, "", 0)
	if len(records) != 1 || records[0].Change.OldImage["m"].DataType() != events.DataTypeMap ||
		len(records[0].Change.OldImage["m"].Map()) != 1 {
		t.Fatalf("a change of the item with a nested empty list recorded %+v", records)
	}
}

func TestStreamRecordsMatchLambdasSampleEvent(t *testing.T) {
	srv, err := dynamoserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := noRetry(srv)
	ctx := context.Background()
	createSamples(t, c)
	clock := &fakeClock{now: time.Date(2015, 4, 9, 0, 0, 0, 700_000_000, time.UTC)}
	srv.SetClock(clock.Now)
	enableStream(t, srv, samples)
	id := sampleKey("101")
	if err := put(ctx, c, samples, map[string]types.AttributeValue{"Id": num("101"), "Message": str("New item!")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(samples), Key: id, UpdateExpression: aws.String("SET Message = :m"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": str("This item has changed")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(samples), Key: id}); err != nil {
		t.Fatal(err)
	}
	// Lambda's sample event: the same three writes, of 26, 59 and 38 bytes,
	// at 1428537600 (DynamoDB rounds the time down to the second).
	records := srv.StreamRecords(samples, "", 0)
	if got, want := changes(records), []string{"INSERT 101", "MODIFY 101", "REMOVE 101"}; !slices.Equal(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for i, size := range []int64{26, 59, 38} {
		r := records[i].Change
		if r.SizeBytes != size || r.ApproximateCreationDateTime.Unix() != 1428537600 || r.ApproximateCreationDateTime.Nanosecond() != 0 {
			t.Errorf("%s: %d bytes at %v, want %d bytes at 1428537600", change(records[i]), r.SizeBytes, r.ApproximateCreationDateTime, size)
		}
	}
	modify := records[1].Change
	if modify.OldImage["Message"].String() != "New item!" || modify.NewImage["Message"].String() != "This item has changed" {
		t.Fatalf("MODIFY images: old %v, new %v", modify.OldImage, modify.NewImage)
	}
	if records[2].Change.OldImage["Message"].String() != "This item has changed" {
		t.Fatalf("REMOVE old image %v", records[2].Change.OldImage)
	}
}

func TestAStreamOnATableWithoutIndexesKnowsWhatEachWriteReplaced(t *testing.T) {
	srv, err := dynamoserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := noRetry(srv)
	ctx := context.Background()
	createSamples(t, c)
	sample := func(id, v string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"Id": num(id), "v": str(v), "tags": &types.AttributeValueMemberSS{Value: []string{"a", "b"}}}
	}
	for _, id := range []string{"1", "2", "3"} {
		if err := put(ctx, c, samples, sample(id, "before")); err != nil {
			t.Fatal(err)
		}
	}
	enableStream(t, srv, samples) // after the items were written
	writes := []func() error{
		func() error { return put(ctx, c, samples, sample("1", "after")) },  // MODIFY 1
		func() error { return put(ctx, c, samples, sample("2", "before")) }, // unchanged
		func() error { // unchanged, the set in another order
			return put(ctx, c, samples, map[string]types.AttributeValue{
				"Id": num("2"), "v": str("before"), "tags": &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
			})
		},
		func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(samples), Key: sampleKey("9")})
			return err
		},
		func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(samples), Key: sampleKey("2")})
			return err // REMOVE 2
		},
		func() error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{samples: {
				{PutRequest: &types.PutRequest{Item: sample("3", "after")}}, // MODIFY 3
				{PutRequest: &types.PutRequest{Item: sample("4", "new")}},   // INSERT 4
				{DeleteRequest: &types.DeleteRequest{Key: sampleKey("8")}},  // missing
			}}})
			return err
		},
	}
	for i, write := range writes {
		if err := write(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	records := srv.StreamRecords(samples, "", 0)
	if got, want := changes(records), []string{"MODIFY 1", "REMOVE 2", "MODIFY 3", "INSERT 4"}; !slices.Equal(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for _, r := range records[:3] {
		tags := slices.Sorted(slices.Values(r.Change.OldImage["tags"].StringSet()))
		if r.Change.OldImage["v"].String() != "before" || !slices.Equal(tags, []string{"a", "b"}) {
			t.Fatalf("%s: old image %v", change(r), r.Change.OldImage)
		}
	}
}

func TestStreamRecordsAreKeptTwentyFourHours(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv.SetClock(clock.Now)
	enableStream(t, srv, things)
	if err := put(ctx, c, things, thing("h", "k", "1")); err != nil {
		t.Fatal(err)
	}
	first := lastSequence(srv, things)
	clock.Advance(24*time.Hour - time.Second)
	if err := put(ctx, c, things, thing("h", "k", "2")); err != nil {
		t.Fatal(err)
	}
	if got := changes(srv.StreamRecords(things, "", 0)); !slices.Equal(got, []string{"INSERT h/k", "MODIFY h/k"}) {
		t.Fatalf("within 24 hours the stream holds %v", got)
	}
	clock.Advance(time.Second)
	records := srv.StreamRecords(things, "", 0)
	if got := changes(records); !slices.Equal(got, []string{"MODIFY h/k"}) {
		t.Fatalf("24 hours after the first write the stream holds %v", got)
	}
	if records[0].Change.SequenceNumber <= first {
		t.Fatalf("sequence number %s after %s", records[0].Change.SequenceNumber, first)
	}
	if got := srv.StreamRecords(things, first, 0); len(got) != 1 {
		t.Fatalf("after a trimmed record the stream holds %v", changes(got))
	}
}

func TestStreamsAreOffUntilEnabledPerTable(t *testing.T) {
	srv, _, _ := setup(t) // its writes happen before any stream
	c := noRetry(srv)
	ctx := context.Background()
	if srv.StreamARN(things) != "" || srv.StreamRecords(things, "", 0) != nil {
		t.Fatal("a stream exists before it is enabled")
	}
	if err := srv.WaitStream(ctx, things, ""); !errors.Is(err, dynamoserver.ErrNoStream) {
		t.Fatalf("WaitStream without a stream: %v", err)
	}
	if _, err := srv.EnableStream("missing"); err == nil {
		t.Fatal("a stream was enabled on a missing table")
	}
	arn := enableStream(t, srv, things)
	if again := enableStream(t, srv, things); again != arn || srv.StreamARN(things) != arn {
		t.Fatalf("enabled again: %q, then %q", again, arn)
	}
	if got := srv.StreamRecords(things, "", 0); len(got) != 0 {
		t.Fatalf("writes made before the stream was enabled are in it: %v", changes(got))
	}
	if err := put(ctx, c, others, thing("h", "k", "1")); err != nil {
		t.Fatal(err)
	}
	if srv.StreamRecords(others, "", 0) != nil || len(srv.StreamRecords(things, "", 0)) != 0 {
		t.Fatal("a write on a table without a stream was recorded")
	}
}

func TestAnItemsRecordsFollowItsWritesInOrder(t *testing.T) {
	srv, _, _ := setup(t)
	c := srv.NewClient() // retries the conflicts of concurrent writes
	ctx := context.Background()
	enableStream(t, srv, things)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for range each {
				_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName: aws.String(things), Key: key("h", "a"), UpdateExpression: aws.String("ADD n :one"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": num("1")},
				})
				if err == nil {
					err = put(ctx, c, things, thing("w", strconv.Itoa(w), "1")) // another item in between
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	previous := "0"
	count := 0
	for _, r := range srv.StreamRecords(things, "", 0) {
		if r.Change.Keys["pk"].String() != "h" {
			continue
		}
		count++
		old, updated := r.Change.OldImage["n"].Number(), r.Change.NewImage["n"].Number()
		if old != previous || updated != strconv.Itoa(count) {
			t.Fatalf("record %d of h/a goes from n=%s to n=%s after n=%s", count, old, updated, previous)
		}
		previous = updated
	}
	if count != writers*each {
		t.Fatalf("%d records of h/a, want %d", count, writers*each)
	}
}

func TestStreamRecordsPageBySequenceNumber(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	enableStream(t, srv, things)
	for i := range 5 {
		if err := put(ctx, c, things, thing("p", strconv.Itoa(i), "1")); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	after := ""
	for {
		page := srv.StreamRecords(things, after, 2)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("a page of %d records", len(page))
		}
		got = append(got, changes(page)...)
		after = page[len(page)-1].Change.SequenceNumber
	}
	if want := []string{"INSERT p/0", "INSERT p/1", "INSERT p/2", "INSERT p/3", "INSERT p/4"}; !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}

func TestWaitStreamReturnsOnceARecordIsDue(t *testing.T) {
	srv, _, _ := setup(t)
	c := noRetry(srv)
	ctx := context.Background()
	enableStream(t, srv, things)
	done := make(chan error, 1)
	go func() { done <- srv.WaitStream(ctx, things, "") }()
	if err := put(ctx, c, things, thing("h", "k", "1")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitStream: %v", err)
	}
	if err := srv.WaitStream(ctx, things, ""); err != nil {
		t.Fatalf("WaitStream with a record due: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	go func() { done <- srv.WaitStream(cancelled, things, lastSequence(srv, things)) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitStream with nothing due, cancelled: %v", err)
	}
}
