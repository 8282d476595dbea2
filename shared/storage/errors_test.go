package storage_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/httpapi"
	"wxchannel/shared/storage"
)

// TestStorageErrorsReachTheClientClassified: DynamoDB's "not now" answers
// are a retryable 503, a transaction cancelled by a concurrent one is a
// retryable 409, and anything else stays an internal error; the original
// error stays in the chain for the code that branches on it.
func TestStorageErrorsReachTheClientClassified(t *testing.T) {
	conflict := &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
		{Code: aws.String("None")}, {Code: aws.String("TransactionConflict")}}}
	condition := &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
		{Code: aws.String("ConditionalCheckFailed")}, {Code: aws.String("TransactionConflict")}}}
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("put: %w", &smithy.GenericAPIError{Code: "ThrottlingException"}), 503, "storage_unavailable"},
		{fmt.Errorf("get: %w", &smithy.GenericAPIError{Code: "InternalServerError"}), 503, "storage_unavailable"},
		{fmt.Errorf("get: %w", &smithy.GenericAPIError{Code: "ValidationException"}), 500, "internal"},
		{conflict, 409, "transaction_conflict"},
		{&types.TransactionConflictException{}, 409, "transaction_conflict"},
		{condition, 409, "conflict"},
		{&types.ConditionalCheckFailedException{}, 409, "conflict"},
	} {
		got := storage.Classify(tc.err)
		he := httpapi.AsError(got)
		if httpapi.Status(he.Kind) != tc.status || he.Code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, httpapi.Status(he.Kind), he.Code, tc.status, tc.code)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%v: the original error left the chain", tc.err)
		}
	}
}
