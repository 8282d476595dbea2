package authorization

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/binding"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/storage"
)

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

// flowItem marks an authorization flow: its state nonce (single use, and
// naming the pre-auth code it was issued with) and its pre-auth code (maps
// WeChat's authorized push to the tenant).
type flowItem struct {
	PK          string `dynamo:"pk,hash"`
	SK          string `dynamo:"sk,range"`
	TenantID    string `dynamo:"tenant_id"`
	PreAuthCode string `dynamo:"pre_auth_code,omitempty"`
	// Kind is what the flow connects: a mini program (absent) or an
	// official account.
	Kind Kind  `dynamo:"kind,omitempty"`
	TTL  int64 `dynamo:"ttl"`
}

// pendingItem says a tenant's admin came back from WeChat's page and the
// binding waits for WeChat's push to confirm which authorization it was.
type pendingItem struct {
	PK  string `dynamo:"pk,hash"`
	SK  string `dynamo:"sk,range"`
	At  int64  `dynamo:"at"`
	TTL int64  `dynamo:"ttl"`
}

// outcomeItem records what an authorization code produced, so the callback
// and the push, whichever comes second, find the result of the first.
type outcomeItem struct {
	PK       string    `dynamo:"pk,hash"`
	SK       string    `dynamo:"sk,range"`
	TenantID string    `dynamo:"tenant_id"`
	AppID    string    `dynamo:"appid"`
	Bound    bool      `dynamo:"bound"`
	Kind     Kind      `dynamo:"kind,omitempty"`
	Problems []Problem `dynamo:"problems,omitempty"`
	TTL      int64     `dynamo:"ttl"`
}

func appPK(appid string) string     { return storage.AuthorizerPartition(appid) }
func tenantPK(tenant string) string { return storage.TenantPartition(tenant) }

const (
	skAttempt = "authattempt"
	skPending = "authpending"
	// pendingFor is how long "finishing" is shown without WeChat's push.
	pendingFor = time.Hour
)

// historySK orders a tenant's binding history by time.
func historySK(at time.Time, appid string) string {
	return fmt.Sprintf("bindinghistory#%019d#%s#%s", at.UnixNano(), appid, newNonce()[:8])
}

// Store holds the flow's items in the platform table and writes the
// binding records (package binding reads them).
type Store struct {
	*binding.Store
	db    *storage.DB
	table dynamo.Table
}

// NewStore returns the flow's store of db.
func NewStore(db *storage.DB) *Store {
	return &Store{Store: binding.NewStore(db), db: db, table: db.Platform}
}

// tenantRecords is what the connection status shows of a tenant: its
// binding record, its last failed attempt and an authorization waiting for
// WeChat's push, each possibly absent.
type tenantRecords struct {
	binding *binding.Binding
	attempt *attempt
	pending *pendingItem
}

// tenantRecords reads the tenant's binding, last attempt and pending
// authorization in one batch.
func (s *Store) tenantRecords(ctx context.Context, tenantID string) (tenantRecords, error) {
	pk := tenantPK(tenantID)
	keys := []dynamo.Keyed{dynamo.Keys{pk, binding.SK}, dynamo.Keys{pk, skAttempt}, dynamo.Keys{pk, skPending}}
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var out tenantRecords
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		switch sk, _ := item["sk"].(*types.AttributeValueMemberS); {
		case sk == nil:
		case sk.Value == binding.SK:
			out.binding = new(binding.Binding)
			err = dynamo.UnmarshalItem(item, out.binding)
		case sk.Value == skAttempt:
			out.attempt = new(attempt)
			err = dynamo.UnmarshalItem(item, out.attempt)
		case sk.Value == skPending:
			out.pending = new(pendingItem)
			err = dynamo.UnmarshalItem(item, out.pending)
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

// putFlow records a started flow: its state nonce and its pre-auth code,
// both naming the tenant, in one transaction.
func (s *Store) putFlow(ctx context.Context, tenantID string, kind Kind, nonce, preAuthCode string,
	stateExpires, codeExpires time.Time,
) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(flowItem{PK: "authstate#" + nonce, SK: "flow", TenantID: tenantID, PreAuthCode: preAuthCode, Kind: kind,
		TTL: stateExpires.Unix()}).If("attribute_not_exists('pk')"))
	tx.Put(s.table.Put(flowItem{PK: "preauth#" + preAuthCode, SK: "flow", TenantID: tenantID, Kind: kind, TTL: codeExpires.Unix()}).
		If("attribute_not_exists('pk')"))
	return tx.Run(ctx)
}

// consumeState deletes the state nonce's item and returns it (the pre-auth
// code it was issued with, the kind of account); it fails with
// storage.ErrConflict when the state was already used (or never issued).
func (s *Store) consumeState(ctx context.Context, nonce, tenantID string) (flowItem, error) {
	var old flowItem
	err := s.table.Delete("pk", "authstate#"+nonce).Range("sk", "flow").If("'tenant_id' = ?", tenantID).OldValue(ctx, &old)
	return old, storage.TranslateErr(err)
}

// markPending shows the tenant's authorization as finishing until WeChat's
// push confirms it.
func (s *Store) markPending(ctx context.Context, tenantID string, now time.Time) error {
	return s.table.Put(pendingItem{PK: tenantPK(tenantID), SK: skPending, At: now.Unix(), TTL: now.Add(pendingFor).Unix()}).Run(ctx)
}

func (s *Store) flowOfPreAuth(ctx context.Context, preAuthCode string) (flowItem, error) {
	var f flowItem
	err := s.table.Get("pk", "preauth#"+preAuthCode).Range("sk", dynamo.Equal, "flow").Consistent(true).One(ctx, &f)
	return f, storage.TranslateErr(err)
}

func (s *Store) outcome(ctx context.Context, code string) (outcomeItem, error) {
	var o outcomeItem
	err := s.table.Get("pk", componentpush.CodePartition(code)).Range("sk", dynamo.Equal, "outcome").Consistent(true).One(ctx, &o)
	return o, storage.TranslateErr(err)
}

// exchangeClaimFor is how long a claim to exchange a code holds: an
// exchange and its binding take well under it, and a path that died
// mid-way leaves the code to the other after it.
const exchangeClaimFor = 30 * time.Second

// claimExchange makes the caller the one path (push or callback) that
// exchanges code with WeChat: a conditional put on the code's partition.
// It reports false when the other path holds a live claim.
func (s *Store) claimExchange(ctx context.Context, code string, now time.Time) (bool, error) {
	err := s.table.Put(struct {
		PK    string `dynamo:"pk,hash"`
		SK    string `dynamo:"sk,range"`
		Until int64  `dynamo:"until"`
		TTL   int64  `dynamo:"ttl"`
	}{componentpush.CodePartition(code), "exchange", now.Add(exchangeClaimFor).Unix(), now.Add(24 * time.Hour).Unix()}).
		If("attribute_not_exists('pk') OR 'until' < ?", now.Unix()).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim the code's exchange: %w", err)
	}
	return true, nil
}

// releaseExchange drops a claim whose exchange ended without an outcome.
func (s *Store) releaseExchange(ctx context.Context, code string) error {
	return storage.TranslateErr(s.table.Delete("pk", componentpush.CodePartition(code)).Range("sk", "exchange").Run(ctx))
}

func (s *Store) putOutcome(ctx context.Context, code string, o outcomeItem, now time.Time) error {
	return s.outcomePut(code, o, now).Run(ctx)
}

// outcomePut records what the exchange of code led to, for a day (codes
// live for minutes).
func (s *Store) outcomePut(code string, o outcomeItem, now time.Time) *dynamo.Put {
	o.PK, o.SK, o.TTL = componentpush.CodePartition(code), "outcome", now.Add(24*time.Hour).Unix()
	return s.table.Put(o)
}

// bind writes the binding under both keys, the refresh token, a history
// entry and the authorization code's outcome in one transaction. The
// conditions make the mini program serve one tenant only and the tenant
// have one mini program only; a re-authorization of the same pair updates
// in place.
func (s *Store) bind(ctx context.Context, b binding.Binding, tokens, outcome *dynamo.Put, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Put(outcome)
	byApp, byTenant := b, b
	byApp.PK, byApp.SK = appPK(b.AppID), binding.SK
	byTenant.PK, byTenant.SK = tenantPK(b.TenantID), binding.SK
	tx.Put(s.table.Put(byApp).If("attribute_not_exists('pk') OR 'tenant_id' = ? OR 'status' = ?", b.TenantID, binding.StatusUnbound))
	tx.Put(s.table.Put(byTenant).If("attribute_not_exists('pk') OR 'appid' = ? OR 'status' = ?", b.AppID, binding.StatusUnbound))
	tx.Put(tokens)
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(b.TenantID), SK: historySK(now, b.AppID), AppID: b.AppID, Event: "bound", At: now.Unix()}))
	tx.Delete(s.table.Delete("pk", tenantPK(b.TenantID)).Range("sk", skAttempt))
	tx.Delete(s.table.Delete("pk", tenantPK(b.TenantID)).Range("sk", skPending))
	return storage.TranslateErr(tx.Run(ctx))
}

// conflictReason explains a failed bind by reading both records.
func (s *Store) conflictReason(ctx context.Context, tenantID, appid string) string {
	if b, err := s.ByAppID(ctx, appid); err == nil && b.Bound() && b.TenantID != tenantID {
		return ReasonBoundElsewhere
	}
	if b, err := s.ByTenant(ctx, tenantID); err == nil && b.Bound() && b.AppID != appid {
		return ReasonOtherBound
	}
	return ""
}

// unbind marks both records unbound (history kept) if the binding is still
// the tenant's; it is idempotent.
func (s *Store) unbind(ctx context.Context, b binding.Binding, reason string, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", appPK(b.AppID)).Range("sk", binding.SK).Set("status", binding.StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'tenant_id' = ?", b.TenantID))
	tx.Update(s.table.Update("pk", tenantPK(b.TenantID)).Range("sk", binding.SK).Set("status", binding.StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'appid' = ?", b.AppID))
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(b.TenantID), SK: historySK(now, b.AppID), AppID: b.AppID, Event: "unbound", Detail: reason,
		At: now.Unix()}))
	return storage.TranslateErr(tx.Run(ctx))
}

// recordAttempt keeps the tenant's failed authorization with its fix, in
// place of any "finishing" mark.
func (s *Store) recordAttempt(ctx context.Context, tenantID, appid string, problems []Problem, now time.Time) error {
	a := attempt{PK: tenantPK(tenantID), SK: skAttempt, AppID: appid, Problem: problems[0], Problems: problems, At: now.Unix()}
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(a))
	tx.Delete(s.table.Delete("pk", tenantPK(tenantID)).Range("sk", skPending))
	return tx.Run(ctx)
}

// History lists a tenant's binding events, oldest first.
func (s *Store) History(ctx context.Context, tenantID string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.table.Get("pk", tenantPK(tenantID)).Range("sk", dynamo.BeginsWith, "bindinghistory#").All(ctx, &out)
	return out, err
}
