package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"wxchannel/shared/notify"
	"wxchannel/shared/webhook"
)

// Retries. A delivery that fails is tried again after 30 s, then after
// twice as long each time up to two hours; an event still undelivered
// MaxAge after it was queued becomes a dead letter (kept for the tenant
// admin to replay) on its next failure. The backoff is the message's
// visibility timeout, set when the attempt fails; a FIFO queue holds the
// rest of the order's events back meanwhile, so they keep their order.
const (
	FirstRetry = 30 * time.Second
	MaxRetry   = 2 * time.Hour
	MaxAge     = 24 * time.Hour
	// pauseAfterFailure caps how long a tenant's deliveries wait after a
	// failure before the CRM is called again.
	maxPause = 5 * time.Minute
)

// Backoff is the wait before the attempt after the attempt-th (1-based):
// doubling from FirstRetry, capped at MaxRetry, plus up to 10% so that
// retries of many events spread out.
func Backoff(attempt int, jitter float64) time.Duration {
	d := FirstRetry
	for i := 1; i < attempt && d < MaxRetry; i++ {
		d *= 2
	}
	d = min(d, MaxRetry)
	return d + time.Duration(float64(d)*0.1*jitter)
}

// Deliverer is the events queue's consumer.
type Deliverer struct {
	store  *Store
	sender *notify.Sender
	client *webhook.Client
	sqs    *sqs.Client
	url    string
	log    *slog.Logger
	now    func() time.Time
}

// NewDeliverer returns the queue consumer; sender sends the
// notification copies.
func NewDeliverer(store *Store, sender *notify.Sender, client *webhook.Client, sqsClient *sqs.Client, queueURL string,
	log *slog.Logger, now func() time.Time,
) *Deliverer {
	return &Deliverer{store: store, sender: sender, client: client, sqs: sqsClient, url: queueURL, log: log, now: now}
}

// envelope is the part of an event the consumer reads.
type envelope struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	TenantID string `json:"tenant_id"`
}

// message is one queued event being delivered.
type message struct {
	sqs      events.SQSMessage
	env      envelope
	group    string
	attempt  int
	queuedAt time.Time
}

// tenantRun is one invocation's deliveries to one tenant: its webhook
// (read once) and what they settled.
type tenantRun struct {
	mu      sync.Mutex
	hook    Webhook
	hookErr error
	status  Status
	out     outcome
}

// Handle delivers a batch. Messages of one group go one after another in
// order; once one fails, the group's later messages are returned
// unattempted (the queue gives them back after the failed one). Groups
// go in parallel, so one tenant's slow CRM holds up only its own
// messages. The answer lists the messages to keep; the rest are deleted.
func (d *Deliverer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	groups := map[string][]message{}
	var order []string
	var failures []events.SQSBatchItemFailure
	var notes []events.SQSMessage
	for _, m := range ev.Records {
		if isForSender(m.Attributes["MessageGroupId"]) {
			notes = append(notes, m)
			continue
		}
		msg, err := parseMessage(m)
		if err != nil {
			// Not an event of ours: nothing can ever deliver it; keep it
			// so the queue's redrive moves it to the dead-letter queue,
			// whose depth raises an alarm.
			d.log.ErrorContext(ctx, "unreadable queued event", "message_id", m.MessageId, "err", err.Error())
			failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if _, ok := groups[msg.group]; !ok {
			order = append(order, msg.group)
		}
		groups[msg.group] = append(groups[msg.group], msg)
	}
	tenants := map[string]*tenantRun{}
	for _, g := range order {
		if id := groups[g][0].env.TenantID; tenants[id] == nil {
			tenants[id] = &tenantRun{}
		}
	}
	if err := d.loadTenants(ctx, tenants); err != nil {
		return events.SQSEventResponse{}, err // every message comes back
	}
	var mu sync.Mutex
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(10)
	if len(notes) > 0 {
		eg.Go(func() error {
			kept := d.handleNotifications(gctx, notes)
			mu.Lock()
			failures = append(failures, kept...)
			mu.Unlock()
			return nil
		})
	}
	for _, g := range order {
		msgs := groups[g]
		eg.Go(func() error {
			kept := d.deliverGroup(gctx, msgs, tenants[msgs[0].env.TenantID])
			mu.Lock()
			failures = append(failures, kept...)
			mu.Unlock()
			return nil
		})
	}
	_ = eg.Wait()
	for id, t := range tenants {
		if t.out == (outcome{}) {
			continue
		}
		if err := d.store.record(ctx, id, t.out); err != nil {
			d.log.WarnContext(ctx, "record delivery status", "tenant", id, "err", err.Error())
		}
	}
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// parseMessage reads a queued event and its SQS attributes.
func parseMessage(m events.SQSMessage) (message, error) {
	var env envelope
	if err := json.Unmarshal([]byte(m.Body), &env); err != nil {
		return message{}, fmt.Errorf("body: %w", err)
	}
	if env.ID == "" || env.TenantID == "" || env.Type == "" {
		return message{}, errors.New("body: not an event envelope")
	}
	group := m.Attributes["MessageGroupId"]
	if group == "" {
		group = env.TenantID + ":" + env.ID
	}
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	sent, _ := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
	return message{sqs: m, env: env, group: group, attempt: max(1, attempt), queuedAt: time.UnixMilli(sent)}, nil
}

// loadTenants reads each tenant's webhook and status.
func (d *Deliverer) loadTenants(ctx context.Context, tenants map[string]*tenantRun) error {
	for id, t := range tenants {
		t.hook, t.hookErr = d.store.Webhook(ctx, id)
		if t.hookErr != nil && !errors.Is(t.hookErr, errNoWebhook) {
			return t.hookErr
		}
		st, err := d.store.Status(ctx, id)
		if err != nil {
			return err
		}
		t.status = st
	}
	return nil
}

// deliverGroup delivers one group's messages in order and returns those
// to keep: the first that failed and every one after it.
func (d *Deliverer) deliverGroup(ctx context.Context, msgs []message, t *tenantRun) []events.SQSBatchItemFailure {
	for i, m := range msgs {
		if d.deliverOne(ctx, m, t) {
			continue
		}
		kept := make([]events.SQSBatchItemFailure, 0, len(msgs)-i)
		for _, rest := range msgs[i:] {
			kept = append(kept, events.SQSBatchItemFailure{ItemIdentifier: rest.sqs.MessageId})
		}
		return kept
	}
	return nil
}

// deliverOne delivers m and reports whether it is settled (delivered,
// skipped or dead-lettered) and may be deleted.
func (d *Deliverer) deliverOne(ctx context.Context, m message, t *tenantRun) bool {
	now := d.now()
	if errors.Is(t.hookErr, errNoWebhook) || !t.hook.Enabled {
		t.settle(func(o *outcome) { o.skipped++ }) // the feed still has it
		return true
	}
	var res webhook.Result
	t.mu.Lock()
	paused := t.status.PausedUntil > now.Unix()
	t.mu.Unlock()
	if paused {
		res = webhook.Result{Err: errors.New("paused after a failed delivery")}
	} else {
		res = d.client.Deliver(ctx, webhook.Target{URL: t.hook.URL, Secrets: t.hook.Secrets(now)},
			webhook.Message{ID: m.env.ID, Type: m.env.Type, Body: []byte(m.sqs.Body)}, now)
	}
	if res.OK() {
		t.settle(func(o *outcome) { o.delivered++; o.lastSuccess = now.Unix() })
		return true
	}
	failure := &Failure{At: now.Unix(), EventID: m.env.ID, Status: res.Status, Error: failureText(res)}
	if !paused {
		t.mu.Lock()
		pause := min(time.Duration(t.status.ConsecutiveFailures+1)*FirstRetry, maxPause)
		t.status.ConsecutiveFailures++
		t.status.PausedUntil = now.Add(pause).Unix()
		t.out.failure, t.out.pausedUntil = failure, t.status.PausedUntil
		t.mu.Unlock()
	}
	if now.Sub(m.queuedAt) >= MaxAge {
		return d.deadLetter(ctx, m, t, failure, now)
	}
	wait := Backoff(m.attempt, rand.Float64()) //nolint:gosec // jitter, not a secret
	if _, err := d.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(d.url),
		ReceiptHandle: aws.String(m.sqs.ReceiptHandle), VisibilityTimeout: int32(wait / time.Second)}); err != nil {
		// It comes back after the queue's visibility timeout instead.
		d.log.WarnContext(ctx, "schedule the retry", "event", m.env.ID, "err", err.Error())
	}
	d.log.InfoContext(ctx, "delivery failed", "tenant", m.env.TenantID, "event", m.env.ID, "attempt", m.attempt,
		"status", res.Status, "retry_in", wait.String(), "err", failure.Error)
	return false
}

// deadLetter keeps m for replay and settles it; if it cannot be kept it
// stays queued (and is tried again).
func (d *Deliverer) deadLetter(ctx context.Context, m message, t *tenantRun, failure *Failure, now time.Time) bool {
	dl := DeadLetter{EventID: m.env.ID, Type: m.env.Type, Group: groupOf(m.group, m.env.TenantID), Body: m.sqs.Body,
		Attempts: m.attempt, Failure: failure, QueuedAt: m.queuedAt.Unix()}
	if err := d.store.putDeadLetter(ctx, m.env.TenantID, dl, now); err != nil {
		d.log.ErrorContext(ctx, "keep a dead letter", "tenant", m.env.TenantID, "event", m.env.ID, "err", err.Error())
		return false
	}
	d.log.WarnContext(ctx, "event dead-lettered", "tenant", m.env.TenantID, "event", m.env.ID, "attempts", m.attempt)
	t.settle(func(o *outcome) { o.dead++ })
	return true
}

// settle changes the tenant's outcome under its lock.
func (t *tenantRun) settle(change func(*outcome)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	change(&t.out)
}

// groupOf is the group part of a message group id (<tenant>:<group>).
func groupOf(messageGroup, tenantID string) string {
	if group, ok := strings.CutPrefix(messageGroup, tenantID+":"); ok && group != "" {
		return group
	}
	return messageGroup
}

// failureText describes a failed delivery for the tenant admin.
func failureText(res webhook.Result) string {
	switch {
	case res.Err != nil:
		return res.Err.Error()
	case res.Snippet != "":
		return fmt.Sprintf("HTTP %d: %s", res.Status, res.Snippet)
	default:
		return fmt.Sprintf("HTTP %d", res.Status)
	}
}
