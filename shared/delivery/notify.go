package delivery

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"wxchannel/shared/notify"
)

// The notification copies of the queue (NotifyGroupPrefix) go to the
// notification sender instead of the CRM. A group's copies are sent one
// after another; when WeChat cannot take one for the moment (busy, the
// daily quota), it and the group's later copies come back after the same
// backoff as a failed delivery, so a work order's notifications keep
// their order. A repeated copy changes nothing (the sender settles each
// event's notifications once).

// handleNotifications sends msgs and returns those to keep.
func (d *Deliverer) handleNotifications(ctx context.Context, msgs []events.SQSMessage) []events.SQSBatchItemFailure {
	groups := map[string][]events.SQSMessage{}
	var order []string
	for _, m := range msgs {
		g := m.Attributes["MessageGroupId"]
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], m)
	}
	var mu sync.Mutex
	var kept []events.SQSBatchItemFailure
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(10)
	for _, g := range order {
		eg.Go(func() error {
			k := d.notifyGroup(gctx, groups[g])
			mu.Lock()
			kept = append(kept, k...)
			mu.Unlock()
			return nil
		})
	}
	_ = eg.Wait()
	return kept
}

// notifyGroup sends one group's copies in order and returns those to
// keep: the first not settled and every one after it.
func (d *Deliverer) notifyGroup(ctx context.Context, msgs []events.SQSMessage) []events.SQSBatchItemFailure {
	for i, m := range msgs {
		attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		sent, _ := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		settled, err := d.sender.Send(ctx, notify.Message{Body: m.Body, Attempt: max(1, attempt), QueuedAt: time.UnixMilli(sent)})
		if settled {
			continue
		}
		switch {
		case errors.Is(err, notify.ErrUnreadable):
			// Nothing can ever send it: the queue's redrive moves it to
			// the dead-letter queue, whose depth raises an alarm.
			d.log.ErrorContext(ctx, "unreadable notification", "message_id", m.MessageId)
		case err != nil:
			// Our own storage failed: the message comes back after the
			// queue's visibility timeout.
			d.log.ErrorContext(ctx, "send a notification", "message_id", m.MessageId, "err", err.Error())
		default:
			wait := Backoff(max(1, attempt), rand.Float64()) //nolint:gosec // jitter, not a secret
			if _, err := d.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(d.url),
				ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: int32(wait / time.Second)}); err != nil {
				d.log.WarnContext(ctx, "schedule the notification's retry", "message_id", m.MessageId, "err", err.Error())
			}
		}
		kept := make([]events.SQSBatchItemFailure, 0, len(msgs)-i)
		for _, rest := range msgs[i:] {
			kept = append(kept, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
		}
		return kept
	}
	return nil
}
