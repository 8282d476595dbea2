package workorder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/device"
	"wxchannel/shared/outbox"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
)

// Limits against spam from public QR codes.
const (
	MaxOrdersPerHour = 10
	DuplicateWindow  = 24 * time.Hour
	IdempotencyTTL   = 24 * time.Hour
)

// Store holds every access pattern of work orders in the service table.
type Store struct {
	db    *storage.DB
	table dynamo.Table
}

// NewStore returns the store of db.
func NewStore(db *storage.DB) *Store { return &Store{db: db, table: db.Service} }

type idemItem struct {
	PK       string `dynamo:"pk,hash"`
	SK       string `dynamo:"sk,range"`
	BodyHash string `dynamo:"body_hash"`
	OrderID  string `dynamo:"order_id"`
	TTL      int64  `dynamo:"ttl"`
}

type dupItem struct {
	PK        string `dynamo:"pk,hash"`
	SK        string `dynamo:"sk,range"`
	OrderID   string `dynamo:"order_id"`
	ExpiresAt int64  `dynamo:"expires_at"`
	TTL       int64  `dynamo:"ttl"`
}

type rateItem struct {
	PK    string `dynamo:"pk,hash"`
	SK    string `dynamo:"sk,range"`
	Count int    `dynamo:"count"`
	TTL   int64  `dynamo:"ttl"`
}

func newID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("060102") + hex.EncodeToString(b[:])
}

// CreateResult says whether the order is new, a replay of the same
// Idempotency-Key, or an existing open duplicate.
type CreateResult struct {
	Order     Order
	Replayed  bool
	Duplicate bool
}

// Submission is one terminal user's request for a new order.
type Submission struct {
	TenantID, UserID string
	// IdempotencyKey is the client's Idempotency-Key ("" for none).
	IdempotencyKey string
	Request        CreateRequest
	At             time.Time
}

// Allow decides, from the user and the tenant's settings read with the
// order's own records, whether the user may submit; its error is returned.
type Allow func(user terminaluser.User, found bool, st tenant.Settings) error

// BeforeWrite runs when a new order is about to be written (the reads found
// no replay and no open duplicate), before its transaction; its error is
// returned and nothing is written.
type BeforeWrite func(ctx context.Context) error

// Create writes a new order in one transaction with its idempotency record,
// its duplicate marker and the user's hourly counter; a retry with the same
// key returns the same order, and an open order for the same device and
// category is returned instead of a second one.
func (s *Store) Create(ctx context.Context, sub Submission) (CreateResult, error) {
	return s.CreateFor(ctx, sub, nil, nil)
}

// CreateFor is Create for a terminal user's request: one consistent batch
// read fetches the user, the tenant's settings, the idempotency record and
// the duplicate marker; allow (when not nil) checks the first two; then,
// unless the reads answer the request, before (when not nil) runs and the
// order is written in one transaction. Two DynamoDB calls in all.
func (s *Store) CreateFor(ctx context.Context, sub Submission, allow Allow, before BeforeWrite) (CreateResult, error) {
	pre, err := s.readForCreate(ctx, sub)
	if err != nil {
		return CreateResult{}, err
	}
	if allow != nil {
		if err := allow(pre.user, pre.userFound, pre.settings); err != nil {
			return CreateResult{}, err
		}
	}
	return s.create(ctx, sub, pre, before, false)
}

// createReads is what a create needs to read before it writes.
type createReads struct {
	user      terminaluser.User
	userFound bool
	settings  tenant.Settings
	idem      *idemItem
	dup       *dupItem
}

func dupSK(req CreateRequest) string { return "dup#" + req.DeviceSN + "#" + req.Category }

func (s *Store) readForCreate(ctx context.Context, sub Submission) (createReads, error) {
	upk := terminaluser.UserPartition(sub.TenantID, sub.UserID)
	keys := []dynamo.Keyed{terminaluser.ProfileKey(sub.TenantID, sub.UserID), tenant.SettingsKey(sub.TenantID)}
	if sub.IdempotencyKey != "" {
		keys = append(keys, dynamo.Keys{upk, "idem#" + sub.IdempotencyKey})
	}
	if sub.Request.DeviceSN != "" {
		keys = append(keys, dynamo.Keys{upk, dupSK(sub.Request)})
	}
	out := createReads{settings: tenant.Defaults()}
	// Unprocessed keys are retried with backoff until the request's
	// deadline; the batch never returns a partial answer.
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		if err := out.add(item); err != nil {
			return createReads{}, fmt.Errorf("read before create: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil {
		return createReads{}, fmt.Errorf("read before create: %w", err)
	}
	return out, nil
}

// add decodes one item of the batch read into its place.
func (r *createReads) add(item dynamo.Item) error {
	sk, _ := item["sk"].(*types.AttributeValueMemberS)
	if sk == nil {
		return nil
	}
	var err error
	switch {
	case sk.Value == "profile":
		err = dynamo.UnmarshalItem(item, &r.user)
		r.userFound = err == nil
	case sk.Value == "settings":
		r.settings, err = tenant.SettingsFromItem(item)
	case strings.HasPrefix(sk.Value, "idem#"):
		r.idem = new(idemItem)
		err = dynamo.UnmarshalItem(item, r.idem)
	case strings.HasPrefix(sk.Value, "dup#"):
		r.dup = new(dupItem)
		err = dynamo.UnmarshalItem(item, r.dup)
	}
	return err
}

// create answers a replay or an open duplicate from what was read, or
// writes the new order after before. retried says this is the second try
// after a concurrent twin won the race.
func (s *Store) create(ctx context.Context, sub Submission, pre createReads, before BeforeWrite, retried bool) (CreateResult, error) {
	bodyHash := hashRequest(sub.Request)
	now := sub.At
	if it := pre.idem; sub.IdempotencyKey != "" && it != nil && it.TTL > now.Unix() {
		if it.BodyHash != bodyHash {
			return CreateResult{}, apperr.E(apperr.Conflict, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
		}
		o, err := s.Get(ctx, sub.TenantID, it.OrderID)
		return CreateResult{Order: o, Replayed: true}, err
	}
	seenID := ""
	if d := pre.dup; sub.Request.DeviceSN != "" && d != nil {
		seenID = d.OrderID
		if d.ExpiresAt > now.Unix() {
			if o, err := s.Get(ctx, sub.TenantID, d.OrderID); err == nil && o.Open() {
				return CreateResult{Order: o, Duplicate: true}, nil
			}
		}
	}
	if before != nil {
		if err := before(ctx); err != nil {
			return CreateResult{}, err
		}
	}
	o := newOrder(sub, pre.settings)
	err := s.writeNew(ctx, sub, o, bodyHash, seenID)
	if dynamo.IsCondCheckFailed(err) {
		return s.explainCreateConflict(ctx, sub, before, retried)
	}
	if err != nil {
		return CreateResult{}, fmt.Errorf("create work order: %w", err)
	}
	return CreateResult{Order: o}, nil
}

func newOrder(sub Submission, st tenant.Settings) Order {
	now, req := sub.At, sub.Request
	id := newID(now)
	o := Order{
		PK: orderPK(sub.TenantID, id), SK: "order", ID: id, TenantID: sub.TenantID, UserID: sub.UserID,
		UserPK: userOrdersPK(sub.TenantID, sub.UserID), UserSK: fmt.Sprintf("%019d#%s", now.UnixNano(), id),
		Category: req.Category, Description: req.Description, DeviceSN: req.DeviceSN, ContactName: req.ContactName,
		Phone: req.Phone, Address: req.Address, Latitude: req.Latitude, Longitude: req.Longitude, Photos: req.Photos,
		Status: StatusSubmitted, Timeline: []Event{{Status: StatusSubmitted, At: now.Unix(), Note: words(StatusSubmitted, "")}},
		CreatedAt: now.Unix(), Version: 1,
	}
	o.withSLA(st.Dispatch, DefaultPriority)
	o.placeInIndexes() // offered to nearby engineers, on the desk
	return o
}

func rateSK(now time.Time) string { return "rate#" + now.UTC().Format("2006010215") }

// writeNew writes the order with the user's hourly counter, the
// idempotency record and the duplicate marker in one transaction; seenID
// is the order the duplicate marker named when it was read ("" for none).
func (s *Store) writeNew(ctx context.Context, sub Submission, o Order, bodyHash, seenID string) error {
	now, upk := sub.At, terminaluser.UserPartition(sub.TenantID, sub.UserID)
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(o).If("attribute_not_exists('pk')"))
	if err := s.addOrderEvent(tx, outbox.WorkOrderCreated, o, now); err != nil {
		return err
	}
	if key := slaKey(o); key != "" {
		tx.Put(s.table.Put(slaItem{PK: slaPK(o.TenantID), SK: key, OrderID: o.ID}))
	}
	// The order's place in its device's history (none without a serial).
	device.AddOrderLink(tx, s.table, sub.TenantID, o.DeviceSN,
		device.NewOrder{ID: o.ID, UserID: o.UserID, Category: o.Category, Status: string(o.Status), CreatedAt: now})
	tx.Update(s.table.Update("pk", upk).Range("sk", rateSK(now)).Add("count", 1).Set("ttl", now.Add(2*time.Hour).Unix()).
		If("attribute_not_exists('count') OR 'count' < ?", MaxOrdersPerHour))
	if sub.IdempotencyKey != "" {
		idem := idemItem{PK: upk, SK: "idem#" + sub.IdempotencyKey, BodyHash: bodyHash, OrderID: o.ID, TTL: now.Add(IdempotencyTTL).Unix()}
		tx.Put(s.table.Put(idem).If("attribute_not_exists('pk') OR 'ttl' < ?", now.Unix()))
	}
	if sub.Request.DeviceSN != "" {
		expires := now.Add(DuplicateWindow).Unix()
		d := s.table.Put(dupItem{PK: upk, SK: dupSK(sub.Request), OrderID: o.ID, ExpiresAt: expires, TTL: expires})
		if seenID == "" {
			d = d.If("attribute_not_exists('pk')")
		} else {
			d = d.If("'order_id' = ?", seenID)
		}
		tx.Put(d)
	}
	return tx.Run(ctx)
}

// explainCreateConflict re-reads what the transaction's conditions guard to
// tell the client which one stopped it; a concurrent twin is resolved by
// trying once more, which then finds the twin's records.
func (s *Store) explainCreateConflict(ctx context.Context, sub Submission, before BeforeWrite, retried bool) (CreateResult, error) {
	var rate rateItem
	err := s.table.Get("pk", terminaluser.UserPartition(sub.TenantID, sub.UserID)).Range("sk", dynamo.Equal, rateSK(sub.At)).
		Consistent(true).One(ctx, &rate)
	if err == nil && rate.Count >= MaxOrdersPerHour {
		return CreateResult{}, apperr.Errorf(apperr.RateLimited, "rate_limited",
			"at most %d work orders an hour; try again later", MaxOrdersPerHour)
	}
	if retried {
		return CreateResult{}, apperr.E(apperr.Conflict, "concurrent_submission",
			"the same work order is being submitted concurrently; try again")
	}
	pre, err := s.readForCreate(ctx, sub)
	if err != nil {
		return CreateResult{}, err
	}
	return s.create(ctx, sub, pre, before, true)
}

func hashRequest(req CreateRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q|%q|%q|%q|%q|%v|%v|%q", req.Category, req.Description, req.DeviceSN, req.Scene, req.ContactName,
		req.Phone, req.Address, req.Latitude, req.Longitude, req.Photos)
	return hex.EncodeToString(h.Sum(nil))
}

// Get returns an order of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, id string) (Order, error) {
	if !orderIDPattern.MatchString(id) {
		return Order{}, apperr.Missing("no such work order")
	}
	var o Order
	err := s.table.Get("pk", orderPK(tenantID, id)).Range("sk", dynamo.Equal, "order").Consistent(true).One(ctx, &o)
	if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
		return Order{}, apperr.Missing("no such work order")
	}
	return o, err
}

// Detail returns an order of the tenant with the copies of its visits'
// photos, oldest visit first: one Query (consistent) of the order's
// partition, which holds the order ("order") and the copies
// ("visitphotos#<visit id>", sorted by the visits' check-in).
func (s *Store) Detail(ctx context.Context, tenantID, id string) (Order, []OrderVisitPhotos, error) {
	if !orderIDPattern.MatchString(id) {
		return Order{}, nil, apperr.Missing("no such work order")
	}
	var o Order
	found := false
	var visits []OrderVisitPhotos
	it := s.table.Get("pk", orderPK(tenantID, id)).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		switch {
		case sk == nil:
		case sk.Value == "order":
			if err := dynamo.UnmarshalItem(item, &o); err != nil {
				return Order{}, nil, fmt.Errorf("read work order %s: %w", id, err)
			}
			found = true
		case strings.HasPrefix(sk.Value, orderVisitPhotosSKPrefix):
			var v OrderVisitPhotos
			if err := dynamo.UnmarshalItem(item, &v); err != nil {
				return Order{}, nil, fmt.Errorf("read the visit photos of work order %s: %w", id, err)
			}
			visits = append(visits, v)
		}
		item = nil
	}
	if err := it.Err(); err != nil {
		return Order{}, nil, fmt.Errorf("read work order %s: %w", id, err)
	}
	if !found {
		return Order{}, nil, apperr.Missing("no such work order")
	}
	return o, visits, nil
}

// Mine lists a user's orders newest first, a page at a time.
func (s *Store) Mine(ctx context.Context, tenantID, userID string, limit int, cursor dynamo.PagingKey) ([]Order, dynamo.PagingKey, error) {
	q := s.table.Get("gsi1pk", userOrdersPK(tenantID, userID)).Index(storage.IndexGSI1).Order(dynamo.Descending).Limit(limit)
	if cursor != nil {
		q = q.StartFrom(cursor)
	}
	var out []Order
	next, err := q.AllWithLastEvaluatedKey(ctx, &out)
	return out, next, err
}

// transition moves an order from its status to to (apply): note is the
// customer's words ("" for the product's), change the move's other
// changes (assignee...).
func (s *Store) transition(ctx context.Context, o Order, to Status, note string, now time.Time, change func(*Order)) (Order, error) {
	return s.apply(ctx, o, move{to: to, event: statusEvents[to], note: note, change: change}, now)
}

// write stores next over o, which it replaces if still at o's version,
// with the event typ in one transaction.
func (s *Store) write(ctx context.Context, o, next Order, typ string, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(next).If("'version' = ?", o.Version))
	if before, after := slaKey(o), slaKey(next); before != after {
		if before != "" {
			tx.Delete(s.table.Delete("pk", slaPK(o.TenantID)).Range("sk", before))
		}
		if after != "" {
			tx.Put(s.table.Put(slaItem{PK: slaPK(next.TenantID), SK: after, OrderID: next.ID}))
		}
	}
	if err := s.addOrderEvent(tx, typ, next, now); err != nil {
		return err
	}
	err := tx.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.E(apperr.Conflict, "work_order_changed", "the work order changed meanwhile; reload it")
	}
	if err != nil {
		return fmt.Errorf("write work order %s: %w", o.ID, err)
	}
	return nil
}

// Rate records the customer's rating of a completed order, once: the
// service checked o is completed and unrated, and the write holds only if
// it still is at that version.
func (s *Store) Rate(ctx context.Context, o Order, r RatingRequest, now time.Time) (Order, error) {
	if o.Rating > 0 {
		return Order{}, apperr.E(apperr.Conflict, "already_rated", "this work order was already rated")
	}
	next := o
	next.Rating, next.Comment, next.Version = r.Stars, r.Comment, o.Version+1
	err := s.write(ctx, o, next, outbox.WorkOrderRated, now)
	if apperr.Is(err, "work_order_changed") {
		if cur, gerr := s.Get(ctx, o.TenantID, o.ID); gerr == nil && cur.Rating > 0 {
			return Order{}, apperr.E(apperr.Conflict, "already_rated", "this work order was already rated")
		}
	}
	if err != nil {
		return Order{}, err
	}
	return next, nil
}
