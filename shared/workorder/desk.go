package workorder

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"
	"golang.org/x/sync/errgroup"

	"wxchannel/shared/apperr"
	"wxchannel/shared/device"
	"wxchannel/shared/storage"
)

// The desk's list of work orders (GET /admin/work-orders), newest first,
// each filter served by a key (docs/data-model.md):
//   - by status (any set of them), with a created range: gsi3, one
//     partition per status, queried together and merged;
//   - by engineer: the orders in their hands now (gsi2's engineer
//     partition);
//   - by customer: the user's orders (gsi1);
//   - by device serial number: its history links, then the orders;
//   - overdue: the tenant's SLA watch items whose due time passed, most
//     overdue first.
// A category filter applies to what the key selects (one of six
// categories: at most about six times the page is read).

// DeskOrder is an order as the desk's list shows it (gsi3 projects these).
type DeskOrder struct {
	ID           string `dynamo:"id" json:"id"`
	Status       Status `dynamo:"status" json:"status"`
	Category     string `dynamo:"category" json:"category"`
	Priority     string `dynamo:"priority" json:"priority,omitempty"`
	DueAt        int64  `dynamo:"due_at" json:"due_at,omitempty"`
	Overdue      bool   `dynamo:"-" json:"overdue"`
	EngineerID   string `dynamo:"engineer_id" json:"engineer_id,omitempty"`
	EngineerName string `dynamo:"engineer_name" json:"engineer_name,omitempty"`
	DeviceSN     string `dynamo:"device_sn" json:"device_sn,omitempty"`
	CustomerID   string `dynamo:"user_id" json:"customer_id"`
	ContactName  string `dynamo:"contact_name" json:"contact_name"`
	Address      string `dynamo:"address" json:"address"`
	CreatedAt    int64  `dynamo:"created_at" json:"created_at"`
	Version      int    `dynamo:"version" json:"version"`
	SortKey      string `dynamo:"gsi3sk" json:"-"`
}

// DeskAttributes are the attributes gsi3 projects besides the keys: what
// DeskOrder reads (storage.Tables declares the index with them; a test
// holds the two together).
var DeskAttributes = []string{"id", "status", "category", "priority", "due_at", "engineer_id", "engineer_name",
	"device_sn", "user_id", "contact_name", "address", "created_at", "version"}

func deskOrder(o Order) DeskOrder {
	return DeskOrder{ID: o.ID, Status: o.Status, Category: o.Category, Priority: o.Priority, DueAt: o.DueAt,
		EngineerID: o.EngineerID, EngineerName: o.EngineerName, DeviceSN: o.DeviceSN, CustomerID: o.UserID,
		ContactName: o.ContactName, Address: o.Address, CreatedAt: o.CreatedAt, Version: o.Version, SortKey: o.UserSK}
}

// DeskQuery is what the desk asks for.
type DeskQuery struct {
	Statuses   []Status
	Category   string
	EngineerID string
	CustomerID string
	DeviceSN   string
	From, To   time.Time // created in [From, To); zero: open-ended
	Overdue    bool
	Cursor     string
	Limit      int
}

// DeskPage is one page of the desk's list.
type DeskPage struct {
	WorkOrders []DeskOrder `json:"work_orders"`
	Next       string      `json:"next,omitempty"`
}

// Desk page sizes.
const (
	deskDefaultPage = 50
	deskMaxPage     = 100
)

func (q *DeskQuery) validate() error {
	q.Limit = cmp.Or(q.Limit, deskDefaultPage)
	if q.Limit < 1 || q.Limit > deskMaxPage {
		return apperr.InvalidField("limit", fmt.Sprintf("between 1 and %d", deskMaxPage))
	}
	for _, st := range q.Statuses {
		if !slices.Contains(Statuses, st) {
			return apperr.InvalidField("status", "work-order statuses, comma-separated")
		}
	}
	if q.Category != "" && !slices.Contains(Categories, q.Category) {
		return apperr.InvalidField("category", "one of "+strings.Join(Categories, ", "))
	}
	keyed := 0
	for _, k := range []bool{q.EngineerID != "", q.CustomerID != "", q.DeviceSN != "", q.Overdue} {
		if k {
			keyed++
		}
	}
	if keyed > 1 {
		return apperr.BadRequest("one_key_filter", "filter by at most one of engineer, customer, device_sn and overdue")
	}
	if q.DeviceSN != "" {
		if !device.ValidSN(q.DeviceSN) {
			return apperr.InvalidField("device_sn", "a serial number")
		}
		q.DeviceSN = device.Normalize(q.DeviceSN)
	}
	if q.EngineerID != "" {
		if err := validEngineerID(q.EngineerID); err != nil {
			return err
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return apperr.InvalidField("to", "after from")
	}
	return nil
}

// cursor bounds: sort keys ("<created ns>#<id>") below the cursor's.
func decodeDeskCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 20 || len(raw) > 120 {
		return "", apperr.InvalidField("cursor", "a cursor from this list")
	}
	return string(raw), nil
}

func encodeDeskCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

// skRange is the sort-key range [lo, hi) of a query: the created range,
// below the cursor.
func (q DeskQuery) skRange(cursor string) (lo, hi string) {
	lo, hi = "0", "~"
	if !q.From.IsZero() {
		lo = fmt.Sprintf("%019d", q.From.UnixNano())
	}
	if !q.To.IsZero() {
		hi = fmt.Sprintf("%019d", q.To.UnixNano())
	}
	if cursor != "" && cursor < hi {
		hi = cursor
	}
	return lo, hi
}

// Desk lists the tenant's work orders for the desk.
func (s *Store) Desk(ctx context.Context, tenantID string, q DeskQuery, now time.Time) (DeskPage, error) {
	if err := q.validate(); err != nil {
		return DeskPage{}, err
	}
	cursor, err := decodeDeskCursor(q.Cursor)
	if err != nil {
		return DeskPage{}, err
	}
	var orders []DeskOrder
	switch {
	case q.Overdue:
		return s.overdue(ctx, tenantID, q, cursor, now)
	case q.EngineerID != "":
		orders, err = s.deskByIndex(ctx, tenantID, storage.IndexGSI2, "gsi2pk", assignedPK(tenantID, q.EngineerID), "gsi2sk", q, cursor, true)
	case q.CustomerID != "":
		orders, err = s.deskByIndex(ctx, tenantID, storage.IndexGSI1, "gsi1pk", userOrdersPK(tenantID, q.CustomerID), "gsi1sk", q, cursor, false)
	case q.DeviceSN != "":
		orders, err = s.deskByDevice(ctx, tenantID, q, cursor)
	default:
		orders, err = s.deskByStatus(ctx, tenantID, q, cursor)
	}
	if err != nil {
		return DeskPage{}, err
	}
	return page(orders, q.Limit, now), nil
}

// page keeps the newest limit orders and the cursor after them.
func page(orders []DeskOrder, limit int, now time.Time) DeskPage {
	slices.SortFunc(orders, func(a, b DeskOrder) int { return strings.Compare(b.SortKey, a.SortKey) })
	out := DeskPage{WorkOrders: []DeskOrder{}}
	for i, o := range orders {
		if i == limit {
			out.Next = encodeDeskCursor(orders[limit-1].SortKey)
			break
		}
		o.Overdue = o.DueAt > 0 && o.DueAt < now.Unix() && o.Status.Open()
		out.WorkOrders = append(out.WorkOrders, o)
	}
	return out
}

// filter is the filter expression of q's status (when not the key) and
// category.
func (q DeskQuery) filter(query *dynamo.Query, statusIsKey bool) *dynamo.Query {
	if q.Category != "" {
		query = query.Filter("'category' = ?", q.Category)
	}
	if !statusIsKey && len(q.Statuses) > 0 {
		args := make([]any, len(q.Statuses))
		for i, st := range q.Statuses {
			args[i] = string(st)
		}
		query = query.Filter("'status' IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")", args...)
	}
	return query
}

// deskByStatus queries gsi3's partition of each status asked (all when
// none) for a page each, in parallel, and merges them.
func (s *Store) deskByStatus(ctx context.Context, tenantID string, q DeskQuery, cursor string) ([]DeskOrder, error) {
	statuses := q.Statuses
	if len(statuses) == 0 {
		statuses = Statuses
	}
	lo, hi := q.skRange(cursor)
	results := make([][]DeskOrder, len(statuses))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	for i, st := range statuses {
		eg.Go(func() error {
			query := s.table.Get("gsi3pk", deskPK(tenantID, st)).Index(storage.IndexGSI3).
				Range("gsi3sk", dynamo.Between, lo, hi).Order(dynamo.Descending)
			var err error
			if results[i], err = collect[DeskOrder](gctx, q.filter(query, true), q.Limit+1); err != nil {
				return fmt.Errorf("desk list (%s): %w", st, err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var out []DeskOrder
	for _, r := range results {
		for _, o := range r {
			if o.SortKey < hi { // Between includes its upper bound: the cursor's own order
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// deskByIndex queries one partition of index (gsi1: a customer's orders,
// whole; gsi2: an engineer's, whose projection lacks the desk's fields,
// read whole afterwards).
func (s *Store) deskByIndex(ctx context.Context, tenantID, index, hashAttr, partition, rangeAttr string, q DeskQuery, cursor string,
	readWhole bool,
) ([]DeskOrder, error) {
	lo, hi := q.skRange(cursor)
	query := s.table.Get(hashAttr, partition).Index(index).Range(rangeAttr, dynamo.Between, lo, hi).Order(dynamo.Descending)
	found, err := collect[Order](ctx, q.filter(query, false), q.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("desk list: %w", err)
	}
	if readWhole {
		ids := make([]string, len(found))
		for i, o := range found {
			ids[i] = o.ID
		}
		if found, err = s.GetMany(ctx, tenantID, ids); err != nil {
			return nil, err
		}
	}
	out := make([]DeskOrder, 0, len(found))
	for _, o := range found {
		if d := deskOrder(o); d.SortKey < hi {
			out = append(out, d)
		}
	}
	return out, nil
}

// deskByDevice reads the device's history links, newest first, then
// their orders.
func (s *Store) deskByDevice(ctx context.Context, tenantID string, q DeskQuery, cursor string) ([]DeskOrder, error) {
	links, _, err := device.NewStore(s.db).History(ctx, tenantID, q.DeviceSN, deskMaxPage*5, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(links))
	for _, l := range links {
		ids = append(ids, l.OrderID)
	}
	found, err := s.GetMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	lo, hi := q.skRange(cursor)
	var out []DeskOrder
	for _, o := range found {
		d := deskOrder(o)
		if d.SortKey >= lo && d.SortKey < hi && (q.Category == "" || o.Category == q.Category) &&
			(len(q.Statuses) == 0 || slices.Contains(q.Statuses, o.Status)) {
			out = append(out, d)
		}
	}
	return out, nil
}

// collect reads the first n items query selects (its filter applied),
// page after page. It counts the items itself instead of setting the
// query's Limit: a Limit on an index query makes guregu/dynamo describe
// the table to infer the paging key, which needs nothing here.
func collect[T any](ctx context.Context, query *dynamo.Query, n int) ([]T, error) {
	it := query.SearchLimit(n).Iter()
	var out []T
	for len(out) < n {
		var v T
		if !it.Next(ctx, &v) {
			break
		}
		out = append(out, v)
	}
	return out, it.Err()
}

// GetMany reads orders of a tenant by id in consistent batches of 100;
// ids of no order are left out.
func (s *Store) GetMany(ctx context.Context, tenantID string, ids []string) ([]Order, error) {
	var out []Order
	for start := 0; start < len(ids); start += 100 {
		keys := make([]dynamo.Keyed, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			pk, sk := storage.WorkOrderKey(tenantID, id)
			keys = append(keys, dynamo.Keys{pk, sk})
		}
		var batch []Order
		if err := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).All(ctx, &batch); err != nil && !storage.IsNotFound(err) {
			return nil, fmt.Errorf("read work orders: %w", err)
		}
		out = append(out, batch...)
	}
	return out, nil
}

// SLA watch: an open order with a due time has an item in its tenant's
// SLA partition, sorted by due time; the desk's overdue list reads the
// items whose time passed, most overdue first. write keeps them in step
// with the order, in the order's transaction.
type slaItem struct {
	PK      string `dynamo:"pk,hash"`
	SK      string `dynamo:"sk,range"`
	OrderID string `dynamo:"order_id"`
}

func slaPK(tenantID string) string { return storage.TenantPartition(tenantID) + "#sla" }

// slaKey is o's SLA watch key; "" when it has none (closed, or no due time).
func slaKey(o Order) string {
	if o.DueAt <= 0 || !o.Open() || o.Status == StatusOnHold {
		return ""
	}
	return fmt.Sprintf("%012d#%s", o.DueAt, o.ID)
}

// overdue lists the open orders whose due time passed, most overdue first.
func (s *Store) overdue(ctx context.Context, tenantID string, q DeskQuery, cursor string, now time.Time) (DeskPage, error) {
	lo := cmp.Or(cursor, "0")
	var items []slaItem
	err := s.table.Get("pk", slaPK(tenantID)).Range("sk", dynamo.Between, lo, fmt.Sprintf("%012d", now.Unix())).
		Consistent(true).Limit(q.Limit+1).All(ctx, &items)
	if err != nil {
		return DeskPage{}, fmt.Errorf("overdue work orders: %w", err)
	}
	items = slices.DeleteFunc(items, func(it slaItem) bool { return it.SK == cursor })
	more := len(items) > q.Limit
	items = items[:min(len(items), q.Limit)]
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.OrderID
	}
	found, err := s.GetMany(ctx, tenantID, ids)
	if err != nil {
		return DeskPage{}, err
	}
	byID := make(map[string]Order, len(found))
	for _, o := range found {
		byID[o.ID] = o
	}
	out := DeskPage{WorkOrders: []DeskOrder{}}
	for _, id := range ids {
		if o, ok := byID[id]; ok && (q.Category == "" || o.Category == q.Category) {
			d := deskOrder(o)
			d.Overdue = true
			out.WorkOrders = append(out.WorkOrders, d)
		}
	}
	if more {
		out.Next = encodeDeskCursor(items[len(items)-1].SK)
	}
	return out, nil
}

// EngineerDay lists the orders in the engineer's hands (assigned,
// accepted, en route, in progress, on hold), newest first, optionally of
// some statuses and created on one local day.
func (s *Service) EngineerDay(ctx context.Context, tenantID, engineerID string, statuses []Status, day string,
	cursor string, limit int,
) (DeskPage, error) {
	if err := validEngineerID(engineerID); err != nil {
		return DeskPage{}, err
	}
	q := DeskQuery{Statuses: statuses, EngineerID: engineerID, Cursor: cursor, Limit: limit}
	if day != "" {
		st, err := s.settings.Settings(ctx, tenantID)
		if err != nil {
			return DeskPage{}, err
		}
		d, err := time.ParseInLocation(time.DateOnly, day, st.Location())
		if err != nil {
			return DeskPage{}, apperr.InvalidField("day", "a date, YYYY-MM-DD")
		}
		q.From, q.To = d, d.AddDate(0, 0, 1)
	}
	return s.store.Desk(ctx, tenantID, q, s.now())
}
