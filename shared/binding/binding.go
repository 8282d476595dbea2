// Package binding is the record of which enterprise mini program serves which
// tenant: one binding per mini program and one per tenant, written together,
// with a generation that changes whenever the pair is bound anew. Sessions
// check it; the authorization flow writes it.
package binding

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Status says whether a binding is in force.
type Status string

// Binding statuses.
const (
	StatusBound   Status = "bound"
	StatusUnbound Status = "unbound"
)

// SK is the sort key of a binding record, under the mini program's and
// under the tenant's partition.
const SK = "binding"

// Binding is a tenant's enterprise mini program. The same record is kept
// under the mini program (uniqueness: one application per mini program)
// and under the tenant (one mini program per tenant).
type Binding struct {
	PK            string   `dynamo:"pk,hash" json:"-"`
	SK            string   `dynamo:"sk,range" json:"-"`
	TenantID      string   `dynamo:"tenant_id" json:"tenant_id"`
	AppID         string   `dynamo:"appid" json:"appid"`
	Status        Status   `dynamo:"status" json:"status"`
	Name          string   `dynamo:"name" json:"name"`
	HeadImg       string   `dynamo:"head_img" json:"logo"`
	UserName      string   `dynamo:"user_name" json:"user_name"`
	PrincipalName string   `dynamo:"principal_name" json:"principal_name"`
	Certified     bool     `dynamo:"certified" json:"certified"`
	Permissions   []int    `dynamo:"permissions,omitempty" json:"permissions"`
	BoundAt       int64    `dynamo:"bound_at" json:"bound_at"`
	UpdatedAt     int64    `dynamo:"updated_at" json:"updated_at"`
	UnboundReason string   `dynamo:"unbound_reason,omitempty" json:"unbound_reason,omitempty"`
	Categories    []string `dynamo:"categories,omitempty" json:"categories"`
	// Generation identifies one binding of this pair: it is set when the
	// mini program is bound anew (not on re-authorization in place), so a
	// session issued under an earlier binding is recognised as stale.
	Generation int64 `dynamo:"generation" json:"-"`
}

// Bound says whether the binding is in force.
func (b Binding) Bound() bool { return b.Status == StatusBound }

// NewGeneration is the generation of a binding made at t.
func NewGeneration(t time.Time) int64 { return t.UnixNano() }

// Store reads binding records in the platform table.
type Store struct{ table dynamo.Table }

// NewStore returns the binding store of db.
func NewStore(db *storage.DB) *Store { return &Store{table: db.Platform} }

// ByAppID returns the binding record of a mini program (storage.ErrNotFound
// when it never was bound).
func (s *Store) ByAppID(ctx context.Context, appid string) (Binding, error) {
	return s.get(ctx, storage.AuthorizerPartition(appid))
}

// ByTenant returns the tenant's binding record.
func (s *Store) ByTenant(ctx context.Context, tenantID string) (Binding, error) {
	return s.get(ctx, storage.TenantPartition(tenantID))
}

// ByTenantWithSettings reads the tenant's binding record and its portal
// settings (the defaults when none are saved) in one consistent
// BatchGetItem over both tables: what a tenant's release actions need
// first. A tenant never bound is storage.ErrNotFound.
func (s *Store) ByTenantWithSettings(ctx context.Context, tenantID string, service dynamo.Table) (Binding, tenant.Settings, error) {
	b, st, found := Binding{}, tenant.Defaults(), false
	var from string
	it := s.table.Batch("pk", "sk").Get(dynamo.Keys{storage.TenantPartition(tenantID), SK}).
		FromRange(service, "pk", "sk", tenant.SettingsKey(tenantID)).Consistent(true).IterWithTable(&from)
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		if from == s.table.Name() {
			err, found = dynamo.UnmarshalItem(item, &b), true
		} else {
			st, err = tenant.SettingsFromItem(item)
		}
		if err != nil {
			return Binding{}, tenant.Settings{}, fmt.Errorf("read binding and settings: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: neither item exists
		return Binding{}, tenant.Settings{}, fmt.Errorf("read binding and settings: %w", err)
	}
	if !found {
		return Binding{}, st, storage.ErrNotFound
	}
	return b, st, nil
}

func (s *Store) get(ctx context.Context, pk string) (Binding, error) {
	var b Binding
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, SK).Consistent(true).One(ctx, &b)
	return b, storage.TranslateErr(err)
}

// State is what a session needs to know of a mini program's binding.
type State struct {
	TenantID   string
	Generation int64
	Bound      bool
}

// StateOf reads the mini program's binding state; a mini program never
// bound is not bound.
func (s *Store) StateOf(ctx context.Context, appid string) (State, error) {
	b, err := s.ByAppID(ctx, appid)
	if storage.IsNotFound(err) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	return State{TenantID: b.TenantID, Generation: b.Generation, Bound: b.Bound()}, nil
}
