package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wxchannel/shared/notify"
	"wxchannel/shared/outbox"
)

// The stream consumer: the service table's stream, filtered to new outbox
// items (template.yaml's FilterCriteria), fans each event out into the
// events queue, a FIFO queue whose message group is the tenant's work
// order (or registration): SQS hands out a group's messages one after
// another, in the order they were sent, and never holds one group up for
// another. The message is the event's body as stored, deduplicated on the
// event id, so a batch the stream delivers again is not queued twice
// within SQS's five-minute deduplication window (and is harmless after
// it: the CRM de-duplicates on the id).

// queued is one event bound for the queue.
type queued struct {
	seq      string // the stream record's sequence number; "" for replays
	tenantID string
	group    string
	id       string
	typ      string
	dedup    string
	body     string
}

// NotifyGroupPrefix starts the group of an event's copy for the
// notification sender (notify.Sender): the same queue carries it, in a
// group of its own, so a CRM that is down never holds a customer's
// message back, nor the other way round.
const NotifyGroupPrefix = "notify#"

// forSender is q's copy for the notification sender.
func (q queued) forSender() queued {
	c := q
	c.group, c.dedup = NotifyGroupPrefix+q.group, q.id+".notify"
	return c
}

// isForSender reports whether a message group (<tenant>:<group>) is a
// notification sender's.
func isForSender(messageGroup string) bool {
	_, group, _ := strings.Cut(messageGroup, ":")
	return strings.HasPrefix(group, NotifyGroupPrefix)
}

// message is the queue's SendMessageBatch entry for q.
func (q queued) entry(i int) sqstypes.SendMessageBatchRequestEntry {
	return sqstypes.SendMessageBatchRequestEntry{
		Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(q.body),
		MessageGroupId: aws.String(q.tenantID + ":" + q.group), MessageDeduplicationId: aws.String(q.dedup),
	}
}

// Queue sends events to the events queue.
type Queue struct {
	client *sqs.Client
	url    string
}

// NewQueue returns the queue at url.
func NewQueue(client *sqs.Client, url string) *Queue { return &Queue{client: client, url: url} }

// send queues qs in order, ten at a time, and returns how many were
// queued before the first that was not (with its error). Entries of a
// batch are queued in order within their group; a batch stops at its
// first failed entry's successors in the caller's eyes, so a retry
// resends them (deduplicated if they had gone through).
func (q *Queue) send(ctx context.Context, qs []queued) (int, error) {
	for start := 0; start < len(qs); start += 10 {
		batch := qs[start:min(start+10, len(qs))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for i, it := range batch {
			entries[i] = it.entry(i)
		}
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return start, fmt.Errorf("queue events: %w", err)
		}
		if len(out.Failed) > 0 {
			first := len(batch)
			for _, f := range out.Failed {
				if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i < first {
					first = i
				}
			}
			return start + first, fmt.Errorf("queue events: %d refused, first %s: %s",
				len(out.Failed), aws.ToString(out.Failed[0].Code), aws.ToString(out.Failed[0].Message))
		}
	}
	return len(qs), nil
}

// Fanout is the stream consumer.
type Fanout struct {
	queue *Queue
	store *Store
	log   *slog.Logger
}

// NewFanout returns the stream consumer.
func NewFanout(queue *Queue, store *Store, log *slog.Logger) *Fanout {
	return &Fanout{queue: queue, store: store, log: log}
}

// Handle queues the events of a stream batch. Records that are not new
// outbox items (the filter lets none through; a misconfigured one would)
// are skipped. On a failure it reports the first record not queued, so
// the stream delivers it and its successors again, in order.
func (f *Fanout) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var qs []queued
	for _, r := range ev.Records {
		q, ok := fromRecord(r)
		if !ok {
			continue
		}
		qs = append(qs, q)
		if notify.Notifies(q.typ) {
			qs = append(qs, q.forSender())
		}
	}
	sent, err := f.queue.send(ctx, qs)
	perTenant := map[string]int{}
	for _, q := range qs[:sent] {
		if !strings.HasPrefix(q.group, NotifyGroupPrefix) {
			perTenant[q.tenantID]++
		}
	}
	for tenantID, n := range perTenant {
		if cerr := f.store.enqueued(ctx, tenantID, n); cerr != nil {
			// The counters only inform the status page; the events are queued.
			f.log.WarnContext(ctx, "count queued events", "tenant", tenantID, "err", cerr.Error())
		}
	}
	if err != nil {
		f.log.ErrorContext(ctx, "queue events", "queued", sent, "of", len(qs), "err", err.Error())
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: qs[sent].seq}}}, nil
	}
	f.log.InfoContext(ctx, "events queued", "records", len(ev.Records), "queued", sent)
	return events.DynamoDBEventResponse{}, nil
}

// fromRecord reads the event an INSERT of an outbox item carries.
func fromRecord(r events.DynamoDBEventRecord) (queued, bool) {
	if r.EventName != string(events.DynamoDBOperationTypeInsert) {
		return queued{}, false
	}
	img := r.Change.NewImage
	str := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	sk := ""
	if v, ok := r.Change.Keys["sk"]; ok && v.DataType() == events.DataTypeString {
		sk = v.String()
	}
	q := queued{seq: r.Change.SequenceNumber, tenantID: str(outbox.AttrTenantID), group: str(outbox.AttrGroup),
		id: str(outbox.AttrID), typ: str(outbox.AttrType), body: str(outbox.AttrBody)}
	q.dedup = q.id
	if !strings.HasPrefix(sk, outbox.SortKeyPrefix) || q.tenantID == "" || q.group == "" || q.id == "" || q.body == "" {
		return queued{}, false
	}
	return q, true
}

// replayed is a stored event queued again by the replay named replay: a
// deduplication id of its own, so that SQS does not drop it as the
// original's (or an earlier replay's) twin, while a retry of the same
// replay request within SQS's window is dropped.
func replayed(tenantID, group, id, body, replay string) queued {
	return queued{tenantID: tenantID, group: group, id: id, body: body, dedup: id + ".r" + replay}
}

// newReplayID names one replay request.
func newReplayID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
