package storage

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/guregu/dynamo/v2"
)

// Retry policy of every DynamoDB client the product opens.
//
// DynamoDB cancels a transaction that touches an item another transaction
// is changing (TransactionCanceledException, reason TransactionConflict)
// and refuses a single-item write racing a transaction
// (TransactionConflictException). Nothing was written in either case and
// the other request finishes within milliseconds, so the right answer is
// to try again shortly, which neither the SDK's default retryer nor
// guregu/dynamo does. Our retryer adds both to the SDK's retryable errors
// (throttling, 5xx, connection errors).
//
// The attempts and delays are chosen for request paths behind API
// Gateway: the SDK's DynamoDB defaults (4 attempts, 25 ms base) with two
// more attempts, because a conflict lasts as long as the other request's
// transaction and several callers can queue on one item (four tenants
// racing for one mini program); full jitter spreads the retries of
// callers that collided, and the 1 s cap keeps a request that still
// fails well inside the API's timeout. The worst case waits about
// 25+50+100+200+400 ms before the sixth attempt.
//
// A conflict that outlasts the attempts is answered as a retryable 409
// transaction_conflict (classify), never as an internal error. The SDK's
// retry token bucket stays on: it stops an instance hammering DynamoDB
// while DynamoDB itself is failing, and a successful retry refunds it.
const (
	retryMaxAttempts = 6
	retryBaseDelay   = 25 * time.Millisecond
	retryMaxBackoff  = time.Second
)

// newRetryer is the client's retryer; maxAttempts > 0 overrides the
// attempts (tests that must see a first failure).
func newRetryer(maxAttempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		if maxAttempts > 0 {
			o.MaxAttempts = maxAttempts
		}
		o.BaseDelay = retryBaseDelay
		o.MaxBackoff = retryMaxBackoff
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{
			Codes: map[string]struct{}{"TransactionConflictException": {}},
		})
	}, dynamo.RetryTxConflicts)
}
