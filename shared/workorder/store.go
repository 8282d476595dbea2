package workorder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/httpapi"
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

func userPK(tenantID, userID string) string { return "tenant#" + tenantID + "#user#" + userID }

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

// Create writes a new order in one transaction with its idempotency record,
// its duplicate marker and the user's hourly counter; a retry with the same
// key returns the same order, and an open order for the same device and
// category is returned instead of a second one.
func (s *Store) Create(ctx context.Context, tenantID, userID, idemKey string, req CreateRequest, now time.Time) (CreateResult, error) {
	return s.create(ctx, tenantID, userID, idemKey, req, now, nil)
}

// Allow decides, from the user and the tenant's settings read with the
// order's own records, whether the user may submit; its error is returned.
type Allow func(user terminaluser.User, found bool, st tenant.Settings) error

// CreateFor is Create for a terminal user's request: one consistent batch
// read fetches the user, the tenant's settings, the idempotency record and
// the duplicate marker; allow checks the first two; then the order is
// written in one transaction. Two DynamoDB calls in all.
func (s *Store) CreateFor(ctx context.Context, tenantID, userID, idemKey string, req CreateRequest, now time.Time, allow Allow) (CreateResult, error) {
	pre, err := s.readForCreate(ctx, tenantID, userID, idemKey, req)
	if err != nil {
		return CreateResult{}, err
	}
	if err := allow(pre.user, pre.userFound, pre.settings); err != nil {
		return CreateResult{}, err
	}
	return s.create(ctx, tenantID, userID, idemKey, req, now, &pre)
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

func (s *Store) readForCreate(ctx context.Context, tenantID, userID, idemKey string, req CreateRequest) (createReads, error) {
	upk := userPK(tenantID, userID)
	keys := []dynamo.Keyed{terminaluser.ProfileKey(tenantID, userID), tenant.SettingsKey(tenantID)}
	if idemKey != "" {
		keys = append(keys, dynamo.Keys{upk, "idem#" + idemKey})
	}
	if req.DeviceSN != "" {
		keys = append(keys, dynamo.Keys{upk, dupSK(req)})
	}
	out := createReads{settings: tenant.Defaults()}
	// Unprocessed keys are retried with backoff until the request's
	// deadline; the batch never returns a partial answer.
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		var err error
		switch {
		case sk.Value == "profile":
			err = dynamo.UnmarshalItem(item, &out.user)
			out.userFound = err == nil
		case sk.Value == "settings":
			out.settings, err = tenant.SettingsFromItem(item)
		case strings.HasPrefix(sk.Value, "idem#"):
			out.idem = new(idemItem)
			err = dynamo.UnmarshalItem(item, out.idem)
		case strings.HasPrefix(sk.Value, "dup#"):
			out.dup = new(dupItem)
			err = dynamo.UnmarshalItem(item, out.dup)
		}
		if err != nil {
			return createReads{}, fmt.Errorf("read before create: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil {
		return createReads{}, fmt.Errorf("read before create: %w", err)
	}
	return out, nil
}

func (s *Store) create(ctx context.Context, tenantID, userID, idemKey string, req CreateRequest, now time.Time, pre *createReads) (CreateResult, error) {
	bodyHash := hashRequest(req)
	upk := userPK(tenantID, userID)
	if idemKey != "" {
		var it idemItem
		var err error
		switch {
		case pre == nil:
			err = s.table.Get("pk", upk).Range("sk", dynamo.Equal, "idem#"+idemKey).Consistent(true).One(ctx, &it)
		case pre.idem != nil:
			it = *pre.idem
		default:
			err = dynamo.ErrNotFound
		}
		if err == nil && it.TTL > now.Unix() {
			if it.BodyHash != bodyHash {
				return CreateResult{}, httpapi.Conflict("idempotency_key_reused", "this Idempotency-Key was used for a different request")
			}
			o, err := s.Get(ctx, tenantID, it.OrderID)
			return CreateResult{Order: o, Replayed: true}, err
		}
		if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
			return CreateResult{}, err
		}
	}
	dupKey := dupSK(req)
	var seen dupItem
	seenID := ""
	if req.DeviceSN != "" {
		var err error
		switch {
		case pre == nil:
			err = s.table.Get("pk", upk).Range("sk", dynamo.Equal, dupKey).Consistent(true).One(ctx, &seen)
		case pre.dup != nil:
			seen = *pre.dup
		default:
			err = dynamo.ErrNotFound
		}
		if err == nil {
			seenID = seen.OrderID
			if seen.ExpiresAt > now.Unix() {
				if o, err := s.Get(ctx, tenantID, seen.OrderID); err == nil && o.Open() {
					return CreateResult{Order: o, Duplicate: true}, nil
				}
			}
		} else if !errors.Is(err, dynamo.ErrNotFound) {
			return CreateResult{}, err
		}
	}
	id := newID(now)
	cell := Cell(req.Latitude, req.Longitude)
	o := Order{
		PK: orderPK(tenantID, id), SK: "order", ID: id, TenantID: tenantID, UserID: userID,
		UserPK: userOrdersPK(tenantID, userID), UserSK: fmt.Sprintf("%019d#%s", now.UnixNano(), id),
		CellPK: cellPK(tenantID, cell), CellSK: fmt.Sprintf("%019d#%s", now.UnixNano(), id),
		Category: req.Category, Description: req.Description, DeviceSN: req.DeviceSN, ContactName: req.ContactName,
		Phone: req.Phone, Address: req.Address, Latitude: req.Latitude, Longitude: req.Longitude, Photos: req.Photos,
		Status: StatusSubmitted, Timeline: []Event{{Status: StatusSubmitted, At: now.Unix()}}, CreatedAt: now.Unix(), Version: 1,
	}
	hour := now.UTC().Format("2006010215")
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(o).If("attribute_not_exists('pk')"))
	tx.Update(s.table.Update("pk", upk).Range("sk", "rate#"+hour).Add("count", 1).Set("ttl", now.Add(2*time.Hour).Unix()).
		If("attribute_not_exists('count') OR 'count' < ?", MaxOrdersPerHour))
	if idemKey != "" {
		tx.Put(s.table.Put(idemItem{PK: upk, SK: "idem#" + idemKey, BodyHash: bodyHash, OrderID: id, TTL: now.Add(IdempotencyTTL).Unix()}).
			If("attribute_not_exists('pk') OR 'ttl' < ?", now.Unix()))
	}
	if req.DeviceSN != "" {
		d := s.table.Put(dupItem{PK: upk, SK: dupKey, OrderID: id, ExpiresAt: now.Add(DuplicateWindow).Unix(), TTL: now.Add(DuplicateWindow).Unix()})
		if seenID == "" {
			d = d.If("attribute_not_exists('pk')")
		} else {
			d = d.If("'order_id' = ?", seenID)
		}
		tx.Put(d)
	}
	err := tx.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return s.explainCreateConflict(ctx, tenantID, userID, idemKey, req, hour, now)
	}
	if err != nil {
		return CreateResult{}, fmt.Errorf("create work order: %w", err)
	}
	return CreateResult{Order: o}, nil
}

// explainCreateConflict re-reads what the transaction's conditions guard to
// tell the client which one stopped it; a concurrent twin is resolved by
// retrying once, which then finds the twin's records.
func (s *Store) explainCreateConflict(ctx context.Context, tenantID, userID, idemKey string, req CreateRequest, hour string, now time.Time) (CreateResult, error) {
	var rate rateItem
	if err := s.table.Get("pk", userPK(tenantID, userID)).Range("sk", dynamo.Equal, "rate#"+hour).Consistent(true).One(ctx, &rate); err == nil && rate.Count >= MaxOrdersPerHour {
		return CreateResult{}, &httpapi.Error{Status: 429, Code: "rate_limited", Message: fmt.Sprintf("at most %d work orders an hour; try again later", MaxOrdersPerHour)}
	}
	if ctx.Value(retriedKey{}) != nil {
		return CreateResult{}, httpapi.Conflict("concurrent_submission", "the same work order is being submitted concurrently; try again")
	}
	return s.Create(context.WithValue(ctx, retriedKey{}, true), tenantID, userID, idemKey, req, now)
}

type retriedKey struct{}

func hashRequest(req CreateRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q|%q|%q|%q|%q|%v|%v|%q", req.Category, req.Description, req.DeviceSN, req.Scene, req.ContactName,
		req.Phone, req.Address, req.Latitude, req.Longitude, req.Photos)
	return hex.EncodeToString(h.Sum(nil))
}

// Get returns an order of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, id string) (Order, error) {
	var o Order
	err := s.table.Get("pk", orderPK(tenantID, id)).Range("sk", dynamo.Equal, "order").Consistent(true).One(ctx, &o)
	if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
		return Order{}, httpapi.NotFound("no such work order")
	}
	return o, err
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

// transition moves an order from one of from to to in one conditional
// update on the version, appending to the timeline; set applies extra
// changes (assignee, rating...).
func (s *Store) transition(ctx context.Context, o Order, to string, note string, now time.Time, set func(u *dynamo.Update) *dynamo.Update) (Order, error) {
	u := s.table.Update("pk", o.PK).Range("sk", "order").Set("status", to).Add("version", 1).
		Append("timeline", []Event{{Status: to, At: now.Unix(), Note: note}}).If("'version' = ?", o.Version)
	if to == StatusCompleted || to == StatusCancelled || to == StatusAccepted {
		u = u.Remove("gsi2pk", "gsi2sk") // no longer offered to nearby engineers
	}
	if set != nil {
		u = set(u)
	}
	var out Order
	if err := u.Value(ctx, &out); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Order{}, httpapi.Conflict("work_order_changed", "the work order changed meanwhile; reload it")
		}
		return Order{}, err
	}
	return out, nil
}

// Nearby lists open, unassigned orders within radiusKm of a point, nearest
// first: one query per geohash cell (the point's and its neighbours, run
// concurrently so the latency is one query's), then the exact distance.
func (s *Store) Nearby(ctx context.Context, tenantID string, lat, lng, radiusKm float64, limit int) ([]Order, error) {
	cells := NearbyCells(lat, lng)
	batches := make([][]Order, len(cells))
	errs := make([]error, len(cells))
	var wg sync.WaitGroup
	for i, cell := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.table.Get("gsi2pk", cellPK(tenantID, cell)).Index(storage.IndexGSI2).All(ctx, &batches[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nearby query: %w", err)
	}
	var out []Order
	for _, batch := range batches {
		for _, o := range batch {
			// Index reads are eventually consistent: an order accepted a
			// moment ago may still be listed.
			if o.Status != StatusSubmitted {
				continue
			}
			if d := DistanceKm(lat, lng, o.Latitude, o.Longitude); d <= radiusKm {
				o.DistanceKm = float64(int(d*100)) / 100
				out = append(out, o)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DistanceKm < out[j].DistanceKm })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
