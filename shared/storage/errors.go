package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is a failed conditional write: someone else changed the
	// item first (or it already exists).
	ErrConflict = errors.New("conflict")
)

// IsNotFound reports a missing item (guregu/dynamo's or the package's).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, dynamo.ErrNotFound)
}

// TranslateErr maps guregu/dynamo's not-found and condition failures to the
// package's sentinel errors, wrapping the original.
func TranslateErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dynamo.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case dynamo.IsCondCheckFailed(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// unavailableCodes are DynamoDB's answers that mean "not now": nothing was
// written and the caller should retry.
var unavailableCodes = map[string]bool{
	"InternalServerError": true, "ServiceUnavailable": true, "ThrottlingException": true,
	"ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true, "LimitExceededException": true,
}

// classify gives a DynamoDB error that reached the caller (after the SDK's
// retries) the kind the product answers it with. The original error stays
// in the chain, so guregu/dynamo's checks (IsCondCheckFailed) still see it.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if transactionConflict(err) {
		return apperr.E(apperr.Conflict, "transaction_conflict", "the request raced another change to the same records; retry").Wrap(err)
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) || dynamo.IsCondCheckFailed(err) {
		return apperr.E(apperr.Conflict, "conflict", "the record changed meanwhile; reload and retry").Wrap(err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && unavailableCodes[api.ErrorCode()] {
		return apperr.E(apperr.Unavailable, "storage_unavailable", "storage is unavailable or busy; retry shortly").Wrap(err)
	}
	return err
}

// transactionConflict reports DynamoDB cancelling a request because another
// one was changing the same item: a transaction cancelled with reason
// TransactionConflict, or a single-item write racing a transaction.
func transactionConflict(err error) bool {
	if _, ok := errors.AsType[*types.TransactionConflictException](err); ok {
		return true
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return false
	}
	conflict := false
	for _, r := range canceled.CancellationReasons {
		switch code := deref(r.Code); code {
		case "ConditionalCheckFailed":
			return false // a condition decided it: the caller explains it
		case "TransactionConflict":
			conflict = true
		}
	}
	return conflict
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// classifyErrors installs classify on a client: every operation's final
// error (after the SDK's retries) passes through it.
func classifyErrors(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("ClassifyErrors",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleInitialize(ctx, in)
				return out, md, classify(err)
			}), middleware.Before)
	})
}
