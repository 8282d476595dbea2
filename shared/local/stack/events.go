package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"wxchannel/shared/config"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/sqsserver"
	"wxchannel/shared/local/streamfeed"
	"wxchannel/shared/outbox"
)

// The events queue as template.yaml declares it: FIFO, redriven to its
// dead-letter queue after 100 receives.
const (
	EventsQueueName      = "wxchannel-local-events.fifo"
	EventsDeadLetterName = "wxchannel-local-events-dlq.fifo"
	EventsMaxReceives    = "100"
	EventsVisibility     = "360"
)

// FanoutFilter is the stream consumer's filter; FanoutFilterPattern is
// the same filter as the FilterCriteria pattern template.yaml carries (a
// template test compares them).
var (
	FanoutFilter        streamfeed.Filter
	FanoutFilterPattern string
)

func init() {
	FanoutFilter, FanoutFilterPattern = streamfeed.InsertedWithKeyPrefix("sk", outbox.SortKeyPrefix)
}

// startSQS starts the SQS stand-in with the events queue and its
// dead-letter queue, and points the functions at them.
func (p *Parts) startSQS(ctx context.Context, now func() time.Time) error {
	srv, err := sqsserver.Start()
	if err != nil {
		return fmt.Errorf("start the SQS stand-in: %w", err)
	}
	p.SQS = srv
	p.closers = append(p.closers, func() { _ = srv.Close() })
	srv.SetClock(now)
	client := srv.NewClient()
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(EventsDeadLetterName),
		Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		return fmt.Errorf("create the events dead-letter queue: %w", err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("events dead-letter queue: %w", err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%s}`, attrs.Attributes["QueueArn"], EventsMaxReceives)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(EventsQueueName), Attributes: map[string]string{
		"FifoQueue": "true", "VisibilityTimeout": EventsVisibility, "MessageRetentionPeriod": "345600", "RedrivePolicy": redrive}})
	if err != nil {
		return fmt.Errorf("create the events queue: %w", err)
	}
	p.EventsQueueURL, p.EventsDeadLetterURL = aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)
	p.Vars[config.EnvEventsQueueURL], p.Vars[config.EnvSQSEndpoint] = p.EventsQueueURL, srv.URL()
	if p.Vars[config.EnvWebhookAllowPrivate] == "" {
		p.Vars[config.EnvWebhookAllowPrivate] = "1" // the dev server's receiver is on loopback
	}
	return nil
}

// EventPipeline plays the event source mappings of the event functions:
// the service table's stream feeds the stream consumers, the events queue
// the queue consumers, with the handlers functions.Mount built.
type EventPipeline struct {
	feeders []*streamfeed.Feeder
	pollers []*sqsserver.Poller
}

// ErrNoStream says the pipeline needs the embedded DynamoDB server's stream
// (another DynamoDB endpoint has none this stack can read).
var ErrNoStream = errors.New("the event pipeline needs the embedded DynamoDB server")

// EventPipeline maps w's consumers to the stand-ins.
func (p *Parts) EventPipeline(ctx context.Context, w lambdarun.Workers, log *slog.Logger) (*EventPipeline, error) {
	if p.Dynamo == nil {
		return nil, ErrNoStream
	}
	e := &EventPipeline{}
	for _, s := range w.Streams {
		e.feeders = append(e.feeders, streamfeed.New(p.Dynamo, p.Deps.Config.ServiceTable, s.Handle,
			streamfeed.Options{Filter: FanoutFilter, Logger: log}))
	}
	for _, q := range w.Queues {
		poller, err := sqsserver.NewPoller(ctx, p.SQS.NewClient(), p.EventsQueueURL, sqsserver.Handler(q.Handle))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		e.pollers = append(e.pollers, poller)
	}
	return e, nil
}

// Run feeds and polls until ctx ends (the dev server).
func (e *EventPipeline) Run(ctx context.Context, idle time.Duration) {
	eg, ctx := errgroup.WithContext(ctx)
	for _, f := range e.feeders {
		eg.Go(func() error { return f.Run(ctx) })
	}
	for _, p := range e.pollers {
		eg.Go(func() error { p.Run(ctx, idle); return nil })
	}
	_ = eg.Wait()
}

// Pump moves everything that is due through the pipeline now: the stream
// into the queue, the queue into the webhooks, until nothing is left to
// do (messages waiting for a retry stay; advance the clock for them). It
// returns how many messages the queue consumers were given.
func (e *EventPipeline) Pump(ctx context.Context) (int, error) {
	total := 0
	for {
		moved := 0
		for _, f := range e.feeders {
			n, err := f.Drain(ctx)
			if err != nil {
				return total, err
			}
			moved += n
		}
		for _, p := range e.pollers {
			for {
				n, err := p.PollOnce(ctx)
				if err != nil {
					return total, err
				}
				if n == 0 {
					break
				}
				moved, total = moved+n, total+n
			}
		}
		if moved == 0 {
			return total, nil
		}
	}
}
