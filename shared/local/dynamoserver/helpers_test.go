package dynamoserver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/local/dynamoserver"
)

// The tables setup creates.
const (
	things = "things"
	others = "others"
	gsi1   = "gsi1"
)

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// key is the key of item pk/sk in setup's tables.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

// noRetry returns a client that sends each call once, so a refusal is seen
// as it is rather than retried.
func noRetry(srv *dynamoserver.Server) *dynamodb.Client {
	return srv.NewClient(func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
}

// wantAPIError fails t unless err is a DynamoDB error with code whose
// message contains msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want %s", err, code)
	}
	if apiErr.ErrorCode() != code || !strings.Contains(apiErr.ErrorMessage(), msg) {
		t.Fatalf("error %s: %q, want %s: %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, msg)
	}
}

// cancellationCodes returns the reason codes of a cancelled transaction,
// failing t when err is not one.
func cancellationCodes(t *testing.T, err error) []string {
	t.Helper()
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("error %v, want a TransactionCanceledException", err)
	}
	codes := []string{}
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if want := "[" + strings.Join(codes, ", ") + "]"; !strings.HasSuffix(aws.ToString(tce.Message), want) {
		t.Fatalf("message %q does not list %s", aws.ToString(tce.Message), want)
	}
	return codes
}

// getItem reads an item of things, strongly consistent; nil when there is none.
func getItem(t *testing.T, c *dynamodb.Client, k map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(things), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// numberOf returns a number attribute of an item, "" when absent.
func numberOf(it map[string]types.AttributeValue, name string) string {
	if n, ok := it[name].(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

// setN is a transaction action setting n on item h/a of things.
func setN(n string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(things), Key: key("h", "a"),
		UpdateExpression:          aws.String("SET n = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(n)},
	}}
}

// startHeldTransaction sends a transaction that the server holds in
// flight (its items claimed, not yet applied) until the returned function
// releases it; that function returns the transaction's outcome.
func startHeldTransaction(t *testing.T, srv *dynamoserver.Server, c *dynamodb.Client, actions ...types.TransactWriteItem) func() error {
	t.Helper()
	srv.SetTransactionHold(time.Hour)
	t.Cleanup(func() { srv.SetTransactionHold(0) })
	done := make(chan error, 1)
	go func() {
		_, err := c.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		done <- err
	}()
	waitFor(t, func() bool { return srv.InFlightTransactions() == 1 })
	return func() error {
		srv.SetTransactionHold(0)
		return <-done
	}
}

// waitFor waits until cond holds (it gives up after a generous while, so a
// broken test fails rather than hangs).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
