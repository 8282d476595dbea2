package authorization

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// BindingStatus says whether a binding is in force.
type BindingStatus string

// Binding statuses.
const (
	StatusBound   BindingStatus = "bound"
	StatusUnbound BindingStatus = "unbound"
)

// Binding is a tenant's enterprise mini program. The same record is kept
// under the mini program (uniqueness: one application per mini program)
// and under the tenant (one mini program per tenant).
type Binding struct {
	PK            string        `dynamo:"pk,hash" json:"-"`
	SK            string        `dynamo:"sk,range" json:"-"`
	TenantID      string        `dynamo:"tenant_id" json:"tenant_id"`
	AppID         string        `dynamo:"appid" json:"appid"`
	Status        BindingStatus `dynamo:"status" json:"status"`
	Name          string        `dynamo:"name" json:"name"`
	HeadImg       string        `dynamo:"head_img" json:"logo"`
	UserName      string        `dynamo:"user_name" json:"user_name"`
	PrincipalName string        `dynamo:"principal_name" json:"principal_name"`
	Certified     bool          `dynamo:"certified" json:"certified"`
	Permissions   []int         `dynamo:"permissions,omitempty" json:"permissions"`
	BoundAt       int64         `dynamo:"bound_at" json:"bound_at"`
	UpdatedAt     int64         `dynamo:"updated_at" json:"updated_at"`
	UnboundReason string        `dynamo:"unbound_reason,omitempty" json:"unbound_reason,omitempty"`
	Categories    []string      `dynamo:"categories,omitempty" json:"categories"`
}

// attempt is the last failed authorization of a tenant, shown with its fix.
type attempt struct {
	PK      string  `dynamo:"pk,hash"`
	SK      string  `dynamo:"sk,range"`
	AppID   string  `dynamo:"appid"`
	Problem Problem `dynamo:"problem"`
	// Problems lists every reason found.
	Problems []Problem `dynamo:"problems,omitempty"`
	At       int64     `dynamo:"at"`
}

// HistoryEntry is one event of a tenant's binding history.
type HistoryEntry struct {
	PK     string `dynamo:"pk,hash"`
	SK     string `dynamo:"sk,range"`
	AppID  string `dynamo:"appid"`
	Event  string `dynamo:"event"`
	Detail string `dynamo:"detail"`
	At     int64  `dynamo:"at"`
}

// flowItem marks an authorization flow: its state nonce (single use) and
// its pre-auth code (maps WeChat's authorized push to the tenant).
type flowItem struct {
	PK       string `dynamo:"pk,hash"`
	SK       string `dynamo:"sk,range"`
	TenantID string `dynamo:"tenant_id"`
	TTL      int64  `dynamo:"ttl"`
}

// outcomeItem records what an authorization code produced, so the callback
// and the push, whichever comes second, find the result of the first.
type outcomeItem struct {
	PK       string    `dynamo:"pk,hash"`
	SK       string    `dynamo:"sk,range"`
	TenantID string    `dynamo:"tenant_id"`
	AppID    string    `dynamo:"appid"`
	Bound    bool      `dynamo:"bound"`
	Problems []Problem `dynamo:"problems,omitempty"`
	TTL      int64     `dynamo:"ttl"`
}

func appPK(appid string) string     { return storage.AuthorizerPartition(appid) }
func tenantPK(tenant string) string { return storage.TenantPartition(tenant) }

const (
	skBinding = "binding"
	skAttempt = "authattempt"
)

// historySK orders a tenant's binding history by time.
func historySK(at time.Time, appid string) string {
	return fmt.Sprintf("bindinghistory#%019d#%s#%s", at.UnixNano(), appid, newNonce()[:8])
}

func codeKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return "authcode#" + hex.EncodeToString(sum[:16])
}

// Store holds bindings and flow items in the platform table.
type Store struct {
	db    *storage.DB
	table dynamo.Table
}

// NewStore returns the binding store of db.
func NewStore(db *storage.DB) *Store { return &Store{db: db, table: db.Platform} }

// BindingByAppID returns the binding record of a mini program.
func (s *Store) BindingByAppID(ctx context.Context, appid string) (Binding, error) {
	return s.get(ctx, appPK(appid))
}

// BindingByTenant returns the tenant's binding record.
func (s *Store) BindingByTenant(ctx context.Context, tenantID string) (Binding, error) {
	return s.get(ctx, tenantPK(tenantID))
}

func (s *Store) get(ctx context.Context, pk string) (Binding, error) {
	var b Binding
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, skBinding).Consistent(true).One(ctx, &b)
	return b, storage.TranslateErr(err)
}

// tenantRecords is what the connection status shows of a tenant: its
// binding record and its last failed attempt, either possibly absent.
type tenantRecords struct {
	binding *Binding
	attempt *attempt
}

// tenantRecords reads the tenant's binding and last attempt in one batch.
func (s *Store) tenantRecords(ctx context.Context, tenantID string) (tenantRecords, error) {
	pk := tenantPK(tenantID)
	it := s.table.Batch("pk", "sk").Get(dynamo.Keys{pk, skBinding}, dynamo.Keys{pk, skAttempt}).Consistent(true).Iter()
	var out tenantRecords
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		switch sk, _ := item["sk"].(*types.AttributeValueMemberS); {
		case sk == nil:
		case sk.Value == skBinding:
			out.binding = new(Binding)
			err = dynamo.UnmarshalItem(item, out.binding)
		case sk.Value == skAttempt:
			out.attempt = new(attempt)
			err = dynamo.UnmarshalItem(item, out.attempt)
		}
		if err != nil {
			return tenantRecords{}, fmt.Errorf("read tenant records: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return tenantRecords{}, fmt.Errorf("read tenant records: %w", err)
	}
	return out, nil
}

func (s *Store) putFlow(ctx context.Context, pk, tenantID string, expires time.Time) error {
	return s.table.Put(flowItem{PK: pk, SK: "flow", TenantID: tenantID, TTL: expires.Unix()}).If("attribute_not_exists('pk')").Run(ctx)
}

// consumeState deletes the state nonce's item; it fails with
// storage.ErrConflict when the state was already used (or never issued).
func (s *Store) consumeState(ctx context.Context, nonce, tenantID string) error {
	err := s.table.Delete("pk", "authstate#"+nonce).Range("sk", "flow").If("'tenant_id' = ?", tenantID).Run(ctx)
	return storage.TranslateErr(err)
}

func (s *Store) tenantForPreAuth(ctx context.Context, preAuthCode string) (string, error) {
	var f flowItem
	err := s.table.Get("pk", "preauth#"+preAuthCode).Range("sk", dynamo.Equal, "flow").Consistent(true).One(ctx, &f)
	return f.TenantID, storage.TranslateErr(err)
}

func (s *Store) outcome(ctx context.Context, code string) (outcomeItem, error) {
	var o outcomeItem
	err := s.table.Get("pk", codeKey(code)).Range("sk", dynamo.Equal, "outcome").Consistent(true).One(ctx, &o)
	return o, storage.TranslateErr(err)
}

func (s *Store) putOutcome(ctx context.Context, code string, o outcomeItem, now time.Time) error {
	return s.outcomePut(code, o, now).Run(ctx)
}

// outcomePut records what the exchange of code led to, for a day (codes
// live for minutes).
func (s *Store) outcomePut(code string, o outcomeItem, now time.Time) *dynamo.Put {
	o.PK, o.SK, o.TTL = codeKey(code), "outcome", now.Add(24*time.Hour).Unix()
	return s.table.Put(o)
}

// bind writes the binding under both keys, the refresh token, a history
// entry and the authorization code's outcome in one transaction. The
// conditions make the mini program serve one tenant only and the tenant
// have one mini program only; a re-authorization of the same pair updates
// in place.
func (s *Store) bind(ctx context.Context, b Binding, tokens, outcome *dynamo.Put, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Put(outcome)
	byApp, byTenant := b, b
	byApp.PK, byApp.SK = appPK(b.AppID), skBinding
	byTenant.PK, byTenant.SK = tenantPK(b.TenantID), skBinding
	tx.Put(s.table.Put(byApp).If("attribute_not_exists('pk') OR 'tenant_id' = ? OR 'status' = ?", b.TenantID, StatusUnbound))
	tx.Put(s.table.Put(byTenant).If("attribute_not_exists('pk') OR 'appid' = ? OR 'status' = ?", b.AppID, StatusUnbound))
	tx.Put(tokens)
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(b.TenantID), SK: historySK(now, b.AppID), AppID: b.AppID, Event: "bound", At: now.Unix()}))
	tx.Delete(s.table.Delete("pk", tenantPK(b.TenantID)).Range("sk", skAttempt))
	return storage.TranslateErr(tx.Run(ctx))
}

// conflictReason explains a failed bind by reading both records.
func (s *Store) conflictReason(ctx context.Context, tenantID, appid string) string {
	if b, err := s.BindingByAppID(ctx, appid); err == nil && b.Status == StatusBound && b.TenantID != tenantID {
		return ReasonBoundElsewhere
	}
	if b, err := s.BindingByTenant(ctx, tenantID); err == nil && b.Status == StatusBound && b.AppID != appid {
		return ReasonOtherBound
	}
	return ""
}

// unbind marks both records unbound (history kept) if the binding is still
// the tenant's; it is idempotent.
func (s *Store) unbind(ctx context.Context, b Binding, reason string, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", appPK(b.AppID)).Range("sk", skBinding).Set("status", StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'tenant_id' = ?", b.TenantID))
	tx.Update(s.table.Update("pk", tenantPK(b.TenantID)).Range("sk", skBinding).Set("status", StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'appid' = ?", b.AppID))
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(b.TenantID), SK: historySK(now, b.AppID), AppID: b.AppID, Event: "unbound", Detail: reason,
		At: now.Unix()}))
	return storage.TranslateErr(tx.Run(ctx))
}

func (s *Store) recordAttempt(ctx context.Context, tenantID, appid string, problems []Problem, now time.Time) error {
	a := attempt{PK: tenantPK(tenantID), SK: skAttempt, AppID: appid, Problem: problems[0], Problems: problems, At: now.Unix()}
	return s.table.Put(a).Run(ctx)
}

// History lists a tenant's binding events, oldest first.
func (s *Store) History(ctx context.Context, tenantID string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.table.Get("pk", tenantPK(tenantID)).Range("sk", dynamo.BeginsWith, "bindinghistory#").All(ctx, &out)
	return out, err
}
