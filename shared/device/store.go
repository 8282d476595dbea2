package device

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Store holds every access pattern of devices in the service table.
type Store struct {
	table dynamo.Table
}

// NewStore returns the store of db.
func NewStore(db *storage.DB) *Store { return &Store{table: db.Service} }

// Get returns a serial number's record (storage.ErrNotFound when no
// registration ever named it).
func (s *Store) Get(ctx context.Context, tenantID, sn string) (Device, error) {
	var d Device
	err := s.table.Get("pk", partition(tenantID, sn)).Range("sk", dynamo.Equal, recordSK).Consistent(true).One(ctx, &d)
	return d, storage.TranslateErr(err)
}

// Records returns the records of serial numbers of the tenant, keyed by
// their normalized form (absent for numbers no registration named), in one
// consistent batch read.
func (s *Store) Records(ctx context.Context, tenantID string, sns []string) (map[string]Device, error) {
	out := map[string]Device{}
	if len(sns) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	var keys []dynamo.Keyed
	for _, sn := range sns {
		if n := Normalize(sn); !seen[n] {
			seen[n] = true
			keys = append(keys, RecordKey(tenantID, n))
		}
	}
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var d Device
	for it.Next(ctx, &d) {
		out[d.SN] = d
		d = Device{}
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read device records: %w", err)
	}
	return out, nil
}

// RecordWithSettings reads a serial number's record (found says whether it
// exists) and the tenant's settings (the defaults when none are saved) in
// one consistent batch read.
func (s *Store) RecordWithSettings(ctx context.Context, tenantID, sn string) (d Device, found bool, st tenant.Settings, err error) {
	st = tenant.Defaults()
	it := s.table.Batch("pk", "sk").Get(RecordKey(tenantID, sn), tenant.SettingsKey(tenantID)).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		if sk, _ := item["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == recordSK {
			err, found = dynamo.UnmarshalItem(item, &d), true
		} else {
			st, err = tenant.SettingsFromItem(item)
		}
		if err != nil {
			return Device{}, false, tenant.Settings{}, fmt.Errorf("read device and settings: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: neither item exists
		return Device{}, false, tenant.Settings{}, fmt.Errorf("read device and settings: %w", err)
	}
	return d, found, st, nil
}

// List returns a page of the tenant's registered devices in serial-number
// order, those whose number starts with prefix ("" for all), from the
// cursor of the previous page.
func (s *Store) List(ctx context.Context, tenantID, prefix string, limit int, start dynamo.PagingKey) ([]Device, dynamo.PagingKey, error) {
	q := s.table.Get("gsi1pk", listPK(tenantID)).Index(storage.IndexGSI1).Limit(limit)
	if prefix != "" {
		q = q.Range("gsi1sk", dynamo.BeginsWith, Normalize(prefix))
	}
	if start != nil {
		q = q.StartFrom(start)
	}
	var out []Device
	next, err := q.AllWithLastEvaluatedKey(ctx, &out)
	if err != nil {
		return nil, nil, fmt.Errorf("list devices: %w", err)
	}
	return out, next, nil
}

// History returns a page of the work orders raised for a serial number,
// newest first, from the cursor of the previous page.
func (s *Store) History(ctx context.Context, tenantID, sn string, limit int, start dynamo.PagingKey) (
	[]OrderLink, dynamo.PagingKey, error,
) {
	q := s.table.Get("pk", partition(tenantID, sn)).Range("sk", dynamo.BeginsWith, orderSKPrefix).
		Order(dynamo.Descending).Limit(limit)
	if start != nil {
		q = q.StartFrom(start)
	}
	var out []OrderLink
	next, err := q.AllWithLastEvaluatedKey(ctx, &out)
	if err != nil {
		return nil, nil, fmt.Errorf("device history: %w", err)
	}
	return out, next, nil
}

// WithCurrentStatus replaces each link's status with its order's current
// one, read in consistent batches of up to 100 orders (one call for a
// page of history). An order that no longer exists keeps the status the
// link recorded.
func (s *Store) WithCurrentStatus(ctx context.Context, tenantID string, links []OrderLink) error {
	for start := 0; start < len(links); start += 100 {
		page := links[start:min(start+100, len(links))]
		keys := make([]dynamo.Keyed, 0, len(page))
		at := make(map[string]int, len(page))
		for i, l := range page {
			pk, sk := storage.WorkOrderKey(tenantID, l.OrderID)
			keys = append(keys, dynamo.Keys{pk, sk})
			at[pk] = i
		}
		var orders []struct {
			PK     string `dynamo:"pk"`
			Status string `dynamo:"status"`
		}
		err := s.table.Batch("pk", "sk").Get(keys...).Project("pk", "status").Consistent(true).All(ctx, &orders)
		if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
			return fmt.Errorf("current order status: %w", err)
		}
		for _, o := range orders {
			if i, ok := at[o.PK]; ok && o.Status != "" {
				page[i].Status = o.Status
			}
		}
	}
	return nil
}

// OwnedBy returns a user's devices (at most limit), in serial-number order.
func (s *Store) OwnedBy(ctx context.Context, tenantID, userID string, limit int) ([]OwnedDevice, error) {
	var out []OwnedDevice
	err := s.table.Get("pk", ownerPK(tenantID, userID)).Range("sk", dynamo.BeginsWith, ownedSKPrefix).Limit(limit).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("owned devices: %w", err)
	}
	return out, nil
}

// SetSceneIfAbsent records scene as the serial number's QR scene unless
// one is recorded already, and returns the one recorded (one conditional
// update: two exports racing print the same code).
func (s *Store) SetSceneIfAbsent(ctx context.Context, tenantID, sn, scene string) (string, error) {
	var d Device
	err := s.table.Update("pk", partition(tenantID, sn)).Range("sk", recordSK).
		SetIfNotExists("scene", scene).SetIfNotExists("tenant_id", tenantID).SetIfNotExists("sn", Normalize(sn)).
		SetIfNotExists("pending", 0).Value(ctx, &d)
	if err != nil {
		return "", fmt.Errorf("record device scene: %w", err)
	}
	return d.Scene, nil
}

// InParallel runs do(i) for i in [0, n) with at most width in flight and
// returns the first error; after one, the others' context is cancelled.
func InParallel(ctx context.Context, n, width int, do func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(width)
	for i := range n {
		g.Go(func() error { return do(ctx, i) })
	}
	return g.Wait()
}
