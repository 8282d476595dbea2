package dynamoserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/local/dynamoserver"
)

type item struct {
	PK     string `dynamo:"pk,hash"`
	SK     string `dynamo:"sk,range"`
	GSI1PK string `dynamo:"gsi1pk,omitempty"`
	GSI1SK string `dynamo:"gsi1sk,omitempty"`
	N      int    `dynamo:"n"`
}

func setup(t *testing.T) (*dynamoserver.Server, *dynamo.DB, dynamo.Table) {
	t.Helper()
	srv, err := dynamoserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	client := srv.NewClient(func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	db := dynamo.NewFromIface(client)
	for _, name := range []string{"things", "others"} {
		_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:   aws.String(name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("gsi1pk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("gsi1sk"), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
			},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
				IndexName: aws.String("gsi1"),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String("gsi1pk"), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String("gsi1sk"), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	table := db.Table("things")
	// Ten items under one hash key (sk a..j), every other one in the index,
	// plus a decoy under another hash key.
	for i := range 10 {
		it := item{PK: "h", SK: string(rune('a' + i)), N: i}
		if i%2 == 0 {
			it.GSI1PK, it.GSI1SK = "even", fmt.Sprintf("%02d", i)
		}
		if err := table.Put(it).Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := table.Put(item{PK: "other", SK: "a", GSI1PK: "even", GSI1SK: "99"}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	return srv, db, table
}

func sks(items []item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.SK)
	}
	return out
}

func TestGureguQueriesReturnExactlyTheExpectedItems(t *testing.T) {
	_, _, table := setup(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		query func() *dynamo.Query
		want  []string
	}{
		{"hash only", func() *dynamo.Query { return table.Get("pk", "h") }, strings.Split("a b c d e f g h i j", " ")},
		{"equal", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.Equal, "c") }, []string{"c"}},
		{"less", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.Less, "c") }, []string{"a", "b"}},
		{"less or equal", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.LessOrEqual, "c") }, []string{"a", "b", "c"}},
		{"greater", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.Greater, "h") }, []string{"i", "j"}},
		{"greater or equal", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.GreaterOrEqual, "h") }, []string{"h", "i", "j"}},
		{"begins with", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.BeginsWith, "d") }, []string{"d"}},
		{"between", func() *dynamo.Query { return table.Get("pk", "h").Range("sk", dynamo.Between, "c", "e") }, []string{"c", "d", "e"}},
		{"descending", func() *dynamo.Query {
			return table.Get("pk", "h").Range("sk", dynamo.Less, "d").Order(dynamo.Descending)
		}, []string{"c", "b", "a"}},
		{"with filter", func() *dynamo.Query { return table.Get("pk", "h").Filter("n > ?", 6) }, []string{"h", "i", "j"}},
		{"index hash only", func() *dynamo.Query { return table.Get("gsi1pk", "even").Index("gsi1") }, []string{"a", "c", "e", "g", "i", "a"}},
		{"index range", func() *dynamo.Query {
			return table.Get("gsi1pk", "even").Index("gsi1").Range("gsi1sk", dynamo.LessOrEqual, "04")
		}, []string{"a", "c", "e"}},
		{"index descending", func() *dynamo.Query {
			return table.Get("gsi1pk", "even").Index("gsi1").Range("gsi1sk", dynamo.Between, "02", "06").Order(dynamo.Descending)
		}, []string{"g", "e", "c"}},
		{"no match", func() *dynamo.Query { return table.Get("pk", "nobody") }, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []item
			if err := tc.query().All(ctx, &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sks(got), tc.want) {
				t.Fatalf("got %v, want %v", sks(got), tc.want)
			}
		})
	}
}

func TestPagingCollectsEveryPageInOrder(t *testing.T) {
	_, _, table := setup(t)
	ctx := context.Background()
	var all []string
	var next dynamo.PagingKey
	pages := 0
	for {
		q := table.Get("pk", "h").SearchLimit(3)
		if next != nil {
			q = q.StartFrom(next)
		}
		var page []item
		var err error
		next, err = q.AllWithLastEvaluatedKey(ctx, &page)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, sks(page)...)
		if next == nil || pages > 10 {
			break
		}
	}
	if want := strings.Split("a b c d e f g h i j", " "); !slices.Equal(all, want) {
		t.Fatalf("got %v, want %v", all, want)
	}
	if pages < 4 {
		t.Fatalf("%d pages for 10 items at 3 a page", pages)
	}
}

func TestDescribeAndWaitWork(t *testing.T) {
	_, db, table := setup(t)
	ctx := context.Background()
	desc, err := table.Describe().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Status != dynamo.ActiveStatus || desc.ARN == "" {
		t.Fatalf("description %+v", desc)
	}
	if len(desc.GSI) != 1 || desc.GSI[0].Status != dynamo.ActiveStatus || desc.GSI[0].ARN == "" {
		t.Fatalf("index description %+v", desc.GSI)
	}
	if err := db.Table("things").Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConditionsAndTransactions(t *testing.T) {
	_, db, table := setup(t)
	ctx := context.Background()
	err := table.Put(item{PK: "h", SK: "a"}).If("attribute_not_exists(pk)").Run(ctx)
	if !dynamo.IsCondCheckFailed(err) {
		t.Fatalf("conditional put over an existing item: %v", err)
	}
	tx := db.WriteTx()
	tx.Put(table.Put(item{PK: "tx", SK: "1"}))
	tx.Put(table.Put(item{PK: "h", SK: "b"}).If("attribute_not_exists(pk)"))
	if err := tx.Run(ctx); !dynamo.IsCondCheckFailed(err) {
		t.Fatalf("transaction with a failing condition: %v", err)
	}
	var got []item
	if err := table.Get("pk", "tx").All(ctx, &got); err != nil || len(got) != 0 {
		t.Fatalf("a cancelled transaction wrote %v (%v)", got, err)
	}
}

func TestFailureEmulation(t *testing.T) {
	srv, db, table := setup(t)
	ctx := context.Background()
	others := db.Table("others")
	srv.FailTable("things", true)
	if err := table.Put(item{PK: "x", SK: "y"}).Run(ctx); err == nil {
		t.Fatal("write to a failing table succeeded")
	}
	if err := others.Put(item{PK: "x", SK: "y"}).Run(ctx); err != nil {
		t.Fatalf("another table should work: %v", err)
	}
	srv.FailTable("things", false)
	srv.FailIndex("things", "gsi1", true)
	var got []item
	if err := table.Get("gsi1pk", "even").Index("gsi1").All(ctx, &got); err == nil {
		t.Fatal("query on a failing index succeeded")
	}
	if err := table.Get("pk", "h").All(ctx, &got); err != nil || len(got) != 10 {
		t.Fatalf("the base table should work: %d items, %v", len(got), err)
	}
	srv.FailIndex("things", "gsi1", false)
	srv.FailAll(true)
	if err := others.Put(item{PK: "x", SK: "z"}).Run(ctx); err == nil {
		t.Fatal("FailAll did not fail")
	}
	srv.FailAll(false)
	if err := others.Put(item{PK: "x", SK: "z"}).Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCallsAreCounted(t *testing.T) {
	srv, _, table := setup(t)
	srv.ResetCalls()
	var got []item
	_ = table.Get("pk", "h").All(context.Background(), &got)
	_ = table.Put(item{PK: "c", SK: "1"}).Run(context.Background())
	calls := srv.Calls()
	if calls["Query"] != 1 || calls["PutItem"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestRewriteKeyConditions(t *testing.T) {
	s := func(v string) string { return `{"S":"` + v + `"}` }
	cases := []struct {
		name, in, wantExpr, wantErr string
		wantNames                   map[string]string
		wantValues                  int
	}{
		{"no key conditions is unchanged", `{"TableName":"t","KeyConditionExpression":"pk = :p"}`, "pk = :p", "", nil, 0},
		{"eq and begins_with", `{"KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[` + s("h") + `]},"sk":{"ComparisonOperator":"BEGINS_WITH","AttributeValueList":[` + s("a") + `]}}}`,
			"#kc0 = :kc1 AND begins_with(#kc2, :kc3)", "", map[string]string{"#kc0": "pk", "#kc2": "sk"}, 2},
		{"between keeps both values", `{"KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[` + s("h") + `]},"sk":{"ComparisonOperator":"BETWEEN","AttributeValueList":[` + s("a") + `,` + s("c") + `]}}}`,
			"#kc0 = :kc1 AND #kc2 BETWEEN :kc3 AND :kc4", "", map[string]string{"#kc0": "pk", "#kc2": "sk"}, 3},
		{"merges with existing placeholders", `{"KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[` + s("h") + `]}},"FilterExpression":"#kc0 > :kc1","ExpressionAttributeNames":{"#kc0":"n"},"ExpressionAttributeValues":{":kc1":{"N":"1"}}}`,
			"#kc1 = :kc2", "", map[string]string{"#kc0": "n", "#kc1": "pk"}, 2},
		{"each comparison", `{"KeyConditions":{"sk":{"ComparisonOperator":"GE","AttributeValueList":[` + s("a") + `]}}}`, "#kc0 >= :kc1", "", map[string]string{"#kc0": "sk"}, 1},
		{"unsupported operator", `{"KeyConditions":{"pk":{"ComparisonOperator":"CONTAINS","AttributeValueList":[` + s("h") + `]}}}`, "", "unsupported operator", nil, 0},
		{"wrong value count", `{"KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[` + s("h") + `,` + s("i") + `]}}}`, "", "takes 1 value", nil, 0},
		{"missing value", `{"KeyConditions":{"pk":{"ComparisonOperator":"BETWEEN","AttributeValueList":[` + s("h") + `]}}}`, "", "needs more values", nil, 0},
		{"not json", `nope`, "", "not a JSON object", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := dynamoserver.RewriteKeyConditions([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				KeyConditions             json.RawMessage
				KeyConditionExpression    string
				ExpressionAttributeNames  map[string]string
				ExpressionAttributeValues map[string]json.RawMessage
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.KeyConditions != nil || got.KeyConditionExpression != tc.wantExpr {
				t.Fatalf("got %s", out)
			}
			for k, v := range tc.wantNames {
				if got.ExpressionAttributeNames[k] != v {
					t.Fatalf("names %v", got.ExpressionAttributeNames)
				}
			}
			if len(got.ExpressionAttributeValues) != tc.wantValues {
				t.Fatalf("values %v", got.ExpressionAttributeValues)
			}
		})
	}
}

func TestShadowHoldsOnlyItemsBeingWritten(t *testing.T) {
	// Writes are evaluated on a shadow loaded with the item as it stands;
	// an item left there would make every later load of a new key sort
	// all the keys the shadow ever held.
	srv, _, _ := setup(t)
	ctx := context.Background()
	client := noRetry(srv)
	for i := range 20 {
		k := key("h", fmt.Sprintf("s%02d", i))
		if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(things), Key: k,
			UpdateExpression:          aws.String("SET n = :n, gsi1pk = :g, gsi1sk = :s"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("1"), ":g": str("g"), ":s": str(fmt.Sprint(i))},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			setN("2"),
			{Put: &types.Put{TableName: aws.String(others), Item: map[string]types.AttributeValue{"pk": str("o"), "sk": str(fmt.Sprint(i))}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(things), Key: key("h", "s00"),
		UpdateExpression: aws.String("SET n = :n"), ConditionExpression: aws.String("n = :never"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num("3"), ":never": num("9")},
	}); err == nil {
		t.Fatal("a failed condition was not reported")
	}
	for _, table := range []string{things, others} {
		if n := srv.ShadowItems(table); n != 0 {
			t.Errorf("the shadow holds %d items of %s after the writes, want 0", n, table)
		}
	}
	if got := numberOf(getItem(t, client, key("h", "s00")), "n"); got != "1" {
		t.Errorf("n = %s after a refused update, want 1", got)
	}
}
