package engineer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
)

// Sort keys in the tenant's partition: one item per engineer, and the
// directory's size, counted so a create can refuse the engineer past
// MaxEngineers in the same transaction.
const (
	skPrefix = "engineer#"
	skCount  = "engineers"
)

func entrySK(id string) string { return skPrefix + id }

// Key is the key of a tenant's engineer in the service table, for callers
// that read it in a batch with their own items.
func Key(tenantID, id string) dynamo.Keys {
	return dynamo.Keys{storage.TenantPartition(tenantID), entrySK(id)}
}

type entryItem struct {
	PK string `dynamo:"pk,hash"`
	SK string `dynamo:"sk,range"`
	Engineer
}

// FromItem decodes an engineer read in a batch.
func FromItem(item dynamo.Item) (Engineer, error) {
	var it entryItem
	if err := dynamo.UnmarshalItem(item, &it); err != nil {
		return Engineer{}, fmt.Errorf("decode engineer: %w", err)
	}
	return it.normalized(), nil
}

// Store holds every access pattern of the directory in the service table.
type Store struct {
	db    *dynamo.DB
	table dynamo.Table
	// limit is MaxEngineers; tests lower it.
	limit int
}

// NewStore returns the store of db.
func NewStore(db *storage.DB) *Store {
	return &Store{db: db.Dynamo, table: db.Service, limit: MaxEngineers}
}

// errNotFound is the answer for an engineer the tenant's directory does
// not hold.
func errNotFound(cause error) error {
	return apperr.Missing("no engineer with this id in the directory").Wrap(storage.TranslateErr(cause))
}

// Get returns one engineer of the tenant, read consistently: a NotFound
// error (storage.IsNotFound holds too) when the directory has none by id.
func (s *Store) Get(ctx context.Context, tenantID, id string) (Engineer, error) {
	if !ValidID(id) {
		return Engineer{}, invalidID()
	}
	var it entryItem
	err := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.Equal, entrySK(id)).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return Engineer{}, errNotFound(err)
	}
	if err != nil {
		return Engineer{}, fmt.Errorf("get engineer: %w", err)
	}
	return it.normalized(), nil
}

// GetMany returns the tenant's engineers among ids, by id, read
// consistently in one BatchGetItem per 100 distinct ids. Ids the directory
// does not hold (or that cannot name an engineer) are absent from the map.
// Keys DynamoDB leaves unprocessed are asked again with backoff until the
// context ends: the answer is never partial.
func (s *Store) GetMany(ctx context.Context, tenantID string, ids []string) (map[string]Engineer, error) {
	out := map[string]Engineer{}
	seen := map[string]bool{}
	var keys []dynamo.Keyed
	for _, id := range ids {
		if ValidID(id) && !seen[id] {
			seen[id] = true
			keys = append(keys, Key(tenantID, id))
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var e entryItem
	for it.Next(ctx, &e) {
		out[e.ID] = e.normalized()
		e = entryItem{}
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: none of them exists
		return nil, fmt.Errorf("get engineers: %w", err)
	}
	return out, nil
}

// ListFilter narrows a listing; the zero value lists every engineer.
type ListFilter struct {
	// Active, when set, keeps the engineers whose Active equals it.
	Active *bool
}

func (f ListFilter) keeps(e Engineer) bool { return f.Active == nil || *f.Active == e.Active }

// List returns the tenant's engineers in id order: one consistent Query of
// the tenant's partition, page after page (a page is 1 MB, a few thousand
// engineers), at most MaxEngineers.
func (s *Store) List(ctx context.Context, tenantID string, f ListFilter) ([]Engineer, error) {
	var items []entryItem
	err := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.BeginsWith, skPrefix).
		Consistent(true).Limit(s.limit).All(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("list engineers: %w", err)
	}
	out := make([]Engineer, 0, len(items))
	for _, it := range items {
		if f.keeps(it.Engineer) {
			out = append(out, it.normalized())
		}
	}
	return out, nil
}

// Put saves req as the tenant's engineer req.ID and returns the entry
// saved, at the next version, updated at now.
//
// Version 0 creates: one transaction puts the entry if absent and counts
// it in the directory's size if that is below MaxEngineers. A later
// version replaces the entry with one PutItem if its version is still
// req.Version. Deactivating is a Put with Active false.
//
// Errors are *apperr.Error: Invalid for a field (see PutRequest.Validate;
// Put checks a skill's form only, the caller whether it names a category),
// Conflict engineer_changed when the entry exists already (create) or
// moved past req.Version (details.version is the current one), NotFound
// for an update of an engineer the directory does not hold, Rejected
// directory_full past MaxEngineers.
func (s *Store) Put(ctx context.Context, tenantID string, req PutRequest, now time.Time) (Engineer, error) {
	if err := req.Validate(nil); err != nil {
		return Engineer{}, err
	}
	e := req.entry(now.Unix())
	it := entryItem{PK: storage.TenantPartition(tenantID), SK: entrySK(e.ID), Engineer: e}
	var err error
	if req.Version == 0 {
		tx := s.db.WriteTx()
		tx.Put(s.table.Put(it).If("attribute_not_exists('pk')"))
		tx.Update(s.table.Update("pk", it.PK).Range("sk", skCount).Add("count", 1).
			If("attribute_not_exists('count') OR 'count' < ?", s.limit))
		err = tx.Run(ctx)
	} else {
		err = s.table.Put(it).If("'version' = ?", req.Version).Run(ctx)
	}
	if dynamo.IsCondCheckFailed(err) {
		return Engineer{}, s.explainRefusedPut(ctx, tenantID, req)
	}
	if err != nil {
		return Engineer{}, fmt.Errorf("put engineer: %w", err)
	}
	return e, nil
}

// explainRefusedPut reads the entry a refused Put was guarding to tell the
// client why. An entry is never deleted and the size never shrinks, so a
// create refused while the entry is still absent met the size limit.
func (s *Store) explainRefusedPut(ctx context.Context, tenantID string, req PutRequest) error {
	cur, err := s.Get(ctx, tenantID, req.ID)
	switch {
	case storage.IsNotFound(err) && req.Version == 0:
		return apperr.Errorf(apperr.Rejected, "directory_full",
			"the directory holds %d engineers, its limit; deactivated ones count too", s.limit)
	case storage.IsNotFound(err):
		return apperr.Missing("no engineer with this id in the directory; send version 0 to create one")
	case err != nil:
		return fmt.Errorf("explain a refused engineer put: %w", err)
	case req.Version == 0:
		return changed("an engineer with this id exists already; reload it and send its version", cur.Version)
	}
	return changed("the engineer was changed meanwhile; reload it and try again", cur.Version)
}

func changed(message string, current int) error {
	return apperr.E(apperr.Conflict, "engineer_changed", message).WithDetails(map[string]int{"version": current})
}
