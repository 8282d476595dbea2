// Package sqsserver is the local stand-in for the product's Amazon SQS
// queues and their Lambda triggers: an in-process SQS-compatible server on a
// loopback address that the real aws-sdk-go-v2 SQS client talks to over
// HTTP, and a Poller that plays Lambda's SQS event source mapping, so that
// tests and the dev server run the same queue code and handlers as
// production without AWS.
//
// # Why our own server
//
// We checked goaws v0.4.5 (Admiral-Piett/goaws, the newest release on the
// module proxy): it speaks only SQS's query protocol — its router dispatches
// on the form field Action and answers XML — so the AWS JSON 1.0 requests
// that aws-sdk-go-v2/service/sqs v1.53.0 sends (X-Amz-Target:
// AmazonSQS.<Op>, Content-Type application/x-amz-json-1.0) get "400 Bad
// Request". Its queues are package-level state on the wall clock, swept by a
// ticker, so neither two servers per process nor a test clock are possible.
// FIFO groups are only partly modelled: locking a group replaces the whole
// lock table (releasing every other group), a receive marks a message in
// flight before it checks the group lock, and a receive returns at most one
// message per group. ApproximateReceiveCount never rises above 1 (the
// receive counter is never incremented) and SentTimestamp is the time of the
// receive. Redrive happens when a visibility timeout lapses in the ticker,
// not on receive, and deleting a message ends its deduplication window
// early. So this package is our own server.
//
// # Protocol
//
// The server speaks AWS JSON 1.0 and serves CreateQueue, GetQueueUrl,
// GetQueueAttributes, SetQueueAttributes, ListQueues, DeleteQueue,
// PurgeQueue, SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage,
// DeleteMessageBatch, ChangeMessageVisibility and
// ChangeMessageVisibilityBatch; SQS's other operations answer
// UnsupportedOperation. Errors are answered as SQS answers them: the shape
// (com.amazonaws.sqs#QueueDoesNotExist) in the body's __type and the query
// protocol's code (AWS.SimpleQueueService.NonExistentQueue;Sender) in the
// x-amzn-query-error header, so the SDK returns its typed errors
// (*types.QueueDoesNotExist, *types.ReceiptHandleIsInvalid, …) and, for
// InvalidParameterValue and MissingParameter, a smithy.APIError with that
// code. Requests are validated as SQS validates them: a FIFO send needs a
// MessageGroupId and a deduplication id unless the queue has
// ContentBasedDeduplication, and takes no per-message DelaySeconds; bodies
// and attributes fit MaximumMessageSize (256 KiB); visibility timeouts are
// at most 12 hours; a receive takes 1 to 10 messages and waits up to 20
// seconds; batches have 1 to 10 entries with distinct ids.
//
// # Semantics
//
// A settable clock (Server.SetClock) drives visibility timeouts, delays,
// retention, the five-minute FIFO deduplication window and every timestamp,
// so a test can let a day pass in a millisecond. A receive hides each
// message it delivers for the visibility timeout and counts the receive. A
// FIFO queue delivers a message group strictly in order and nothing of a
// group while one of its messages is in flight; a receive may return several
// messages of one group, and groups interleave. Deduplication ids
// (explicit, or the SHA-256 of the body) are remembered for five minutes: a
// repeated send is accepted and answers with the first message's id.
// Redrive follows SQS's wording — "when the ReceiveCount for a message
// exceeds the maxReceiveCount for a queue, Amazon SQS moves the message to
// the dead-letter-queue" — so the receive that would deliver a message
// already received maxReceiveCount times moves it instead, keeping its id,
// body, attributes, receive count and FIFO group and recording
// DeadLetterQueueSourceArn. Messages older than MessageRetentionPeriod
// disappear, in flight or not; a message moved to a FIFO dead-letter queue
// starts its retention again, one moved to a standard queue does not, as SQS
// documents.
//
// Receipt handles: a malformed handle, or one of another queue, is
// ReceiptHandleIsInvalid. DeleteMessage of a message already gone succeeds.
// For a handle that is no longer the latest (the message was received again
// since), SQS documents that DeleteMessage "will still succeed, but the
// message might not be deleted": on a standard queue the server keeps the
// message, the strict reading; a FIFO queue rejects such an expired handle,
// and one whose visibility timeout has passed, with ReceiptHandleIsInvalid
// ("The receipt handle has expired."), as SQS does. ChangeMessageVisibility
// with a stale handle is ReceiptHandleIsInvalid, for a message no longer in
// flight MessageNotInflight, and for a message gone InvalidParameterValue.
//
// # Where it differs from SQS
//
// Requests are not authenticated: the signature is accepted as is, and its
// access key id becomes the messages' SenderId. There is one account and
// region (AccountID, Region), and queue URLs are the server's. A standard
// queue delivers each message once and oldest first, and a receive without
// long polling sees every available message (SQS samples its servers, and
// may return fewer or repeat a message). Long polls wait real time; a
// waiting poll is woken by a send or a visibility change, and looks again
// every 100 ms for what the clock has made visible. PurgeQueue takes effect
// at once (and, as on SQS, once a minute). ReceiveRequestAttemptId,
// DeduplicationScope, FifoThroughputLimit, encryption and policies are
// accepted and stored but not acted on; a MessageGroupId on a standard queue
// is kept and returned but does not order anything.
package sqsserver
