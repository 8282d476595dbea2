// Package outbox records domain events in the same DynamoDB transaction
// as the change they describe (a transactional outbox), so that a change
// never exists without its event, and reads them back as the tenant's
// event feed. The table's stream carries each new event to the delivery
// pipeline (package delivery); docs/events.md is the contract.
package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// SchemaVersion is the version of the envelope and of every event's data
// (docs/events.md). A change a consumer could trip over gets a new one.
const SchemaVersion = 1

// Event types. The prefix names the entity.
const (
	WorkOrderCreated         = "work_order.created"
	WorkOrderAssigned        = "work_order.assigned"
	WorkOrderAccepted        = "work_order.accepted"
	WorkOrderDeclined        = "work_order.declined"
	WorkOrderEnRoute         = "work_order.en_route"
	WorkOrderInProgress      = "work_order.in_progress"
	WorkOrderCheckedIn       = "work_order.checked_in"
	WorkOrderCheckedOut      = "work_order.checked_out"
	WorkOrderOnHold          = "work_order.on_hold"
	WorkOrderResumed         = "work_order.resumed"
	WorkOrderCannotComplete  = "work_order.cannot_complete"
	WorkOrderCompleted       = "work_order.completed"
	WorkOrderCancelled       = "work_order.cancelled"
	WorkOrderRated           = "work_order.rated"
	WorkOrderPhotoAdded      = "work_order.photo_added"
	WorkOrderPriorityChanged = "work_order.priority_changed"
	RegistrationPending      = "registration.pending"
	RegistrationApproved     = "registration.approved"
	RegistrationRejected     = "registration.rejected"
	// WebhookTest is the event the tenant admin's test button sends; it is
	// delivered at once and never stored.
	WebhookTest = "webhook.test"
)

// Types lists every stored event type, for validation and the docs.
var Types = []string{
	WorkOrderCreated, WorkOrderAssigned, WorkOrderAccepted, WorkOrderDeclined, WorkOrderEnRoute, WorkOrderInProgress,
	WorkOrderCheckedIn, WorkOrderCheckedOut, WorkOrderOnHold, WorkOrderResumed, WorkOrderCannotComplete,
	WorkOrderCompleted, WorkOrderCancelled, WorkOrderRated, WorkOrderPhotoAdded, WorkOrderPriorityChanged,
	RegistrationPending, RegistrationApproved, RegistrationRejected,
}

// Entity kinds.
const (
	EntityWorkOrder    = "work_order"
	EntityVisit        = "visit"
	EntityRegistration = "registration"
)

// Retention is how long events are kept for the feed and for replay.
const Retention = 30 * 24 * time.Hour

// Entity names what an event is about and the version the change made.
type Entity struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// Event is the envelope every event travels in, in the feed, the webhook
// body and the queue alike. Data is a snapshot of the entity after the
// change, self-contained: a consumer needs no other call to act on it.
type Event struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	TenantID      string          `json:"tenant_id"`
	Entity        Entity          `json:"entity"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Data          json.RawMessage `json:"data"`
	// Group names the events delivered in order, one after another (the
	// work order's id for its visits' events too); the entity's id when
	// empty. Not part of the envelope.
	Group string `json:"-"`
}

// OrderGroup is the group events are delivered in order within.
func (ev Event) OrderGroup() string {
	if ev.Group != "" {
		return ev.Group
	}
	return ev.Entity.ID
}

// New builds an event of type typ about entity, which happened at at,
// with data as its snapshot.
func New(tenantID, typ string, entity Entity, at time.Time, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s data: %w", typ, err)
	}
	return Event{ID: NewID(at), Type: typ, SchemaVersion: SchemaVersion, TenantID: tenantID, Entity: entity,
		OccurredAt: at.UTC().Truncate(time.Millisecond), Data: raw}, nil
}

var idPattern = regexp.MustCompile(`^ev_[0-9a-f]{28}$`)

// NewID returns a unique event id whose first part is the time, so ids
// sort roughly by time (never rely on it: use the feed's cursor).
func NewID(at time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return fmt.Sprintf("ev_%012x%s", at.UnixMilli(), hex.EncodeToString(b[:]))
}

// ValidID reports whether id is an event id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Keys of the outbox. A tenant's events share one partition, sorted by
// time: the feed reads it in order, and the stream's consumer receives a
// partition key's records in order (Lambda keeps that order at any
// parallelization factor). The sort key's prefix is what the stream's
// filter selects.
const skPrefix = "outbox#"

// SortKeyPrefix is the prefix of every outbox item's sort key, which the
// stream consumer's filter (template.yaml) selects.
const SortKeyPrefix = skPrefix

// Partition is the outbox partition of a tenant.
func Partition(tenantID string) string { return storage.TenantPartition(tenantID) + "#events" }

func sortKey(at time.Time, id string) string {
	return fmt.Sprintf("%s%019d#%s", skPrefix, at.UnixNano(), id)
}

// item is an event as the outbox stores it: the envelope as JSON, byte for
// byte what is delivered and signed, beside the attributes the feed and
// the stream consumer read without parsing it.
type item struct {
	PK       string `dynamo:"pk,hash"`
	SK       string `dynamo:"sk,range"`
	ID       string `dynamo:"id"`
	Type     string `dynamo:"type"`
	TenantID string `dynamo:"tenant_id"`
	EntityID string `dynamo:"entity_id"`
	Group    string `dynamo:"group"`
	Body     string `dynamo:"body"`
	TTL      int64  `dynamo:"ttl"`
}

// Attribute names of an outbox item the stream consumer reads.
const (
	AttrBody     = "body"
	AttrTenantID = "tenant_id"
	AttrEntityID = "entity_id"
	AttrGroup    = "group"
	AttrID       = "id"
	AttrType     = "type"
)

// Marshal is the event's JSON, as delivered and signed.
func (ev Event) Marshal() ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", ev.Type, err)
	}
	return body, nil
}

// Add puts ev into the transaction tx on table (the service table), so it
// is stored exactly when the rest of tx is.
func Add(tx *dynamo.WriteTx, table dynamo.Table, ev Event) error {
	body, err := ev.Marshal()
	if err != nil {
		return err
	}
	it := item{PK: Partition(ev.TenantID), SK: sortKey(ev.OccurredAt, ev.ID), ID: ev.ID, Type: ev.Type, TenantID: ev.TenantID,
		EntityID: ev.Entity.ID, Group: ev.OrderGroup(), Body: string(body), TTL: ev.OccurredAt.Add(Retention).Unix()}
	tx.Put(table.Put(it).If("attribute_not_exists('pk')"))
	return nil
}
