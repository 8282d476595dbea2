package authorization

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

// OfficialAccount is a tenant's official account (公众号) authorized to the
// platform, kept beside its mini program binding: quick registration
// reuses its qualification, and the same-entity binding puts both under one
// open account. Like a binding, the record is kept under the account (one
// tenant per account) and under the tenant (one account per tenant). Its
// tokens are the authorizer tokens of its appid, refreshed like a mini
// program's.
type OfficialAccount struct {
	PK            string         `dynamo:"pk,hash" json:"-"`
	SK            string         `dynamo:"sk,range" json:"-"`
	TenantID      string         `dynamo:"tenant_id" json:"tenant_id"`
	AppID         string         `dynamo:"appid" json:"appid"`
	Status        binding.Status `dynamo:"status" json:"status"`
	Name          string         `dynamo:"name" json:"name"`
	HeadImg       string         `dynamo:"head_img" json:"logo"`
	UserName      string         `dynamo:"user_name" json:"user_name"`
	PrincipalName string         `dynamo:"principal_name" json:"principal_name"`
	Certified     bool           `dynamo:"certified" json:"certified"`
	// ServiceType is WeChat's service_type_info.id: 0 and 1 subscription
	// accounts, 2 a service account.
	ServiceType   int    `dynamo:"service_type" json:"service_type"`
	Permissions   []int  `dynamo:"permissions,omitempty" json:"permissions"`
	BoundAt       int64  `dynamo:"bound_at" json:"bound_at"`
	UpdatedAt     int64  `dynamo:"updated_at" json:"updated_at"`
	UnboundReason string `dynamo:"unbound_reason,omitempty" json:"unbound_reason,omitempty"`
}

// Bound says whether the official account is connected.
func (o OfficialAccount) Bound() bool { return o.Status == binding.StatusBound }

// skOfficialAccount is the sort key of the official account's record under
// the account's and the tenant's partitions; skOAAttempt of the tenant's
// last failed official account authorization.
const (
	skOfficialAccount = "officialaccount"
	skOAAttempt       = "oaauthattempt"
)

// OfficialAccountStatus is what the console shows under "WeChat Official
// Account".
type OfficialAccountStatus struct {
	Connected       bool                     `json:"connected"`
	OfficialAccount *OfficialAccount         `json:"official_account,omitempty"`
	Tokens          *tokens.AuthorizerStatus `json:"tokens,omitempty"`
	NeedsReauth     bool                     `json:"needs_reauth"`
	LastError       *Problem                 `json:"last_error,omitempty"`
	Problems        []Problem                `json:"problems,omitempty"`
}

func (s *Store) officialAccount(ctx context.Context, pk string) (OfficialAccount, error) {
	var o OfficialAccount
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, skOfficialAccount).Consistent(true).One(ctx, &o)
	return o, storage.TranslateErr(err)
}

// officialAccountByAppID is the record of an official account
// (storage.ErrNotFound when never connected).
func (s *Store) officialAccountByAppID(ctx context.Context, appid string) (OfficialAccount, error) {
	return s.officialAccount(ctx, appPK(appid))
}

// OfficialAccountOf is the tenant's official account record.
func (s *Store) OfficialAccountOf(ctx context.Context, tenantID string) (OfficialAccount, error) {
	return s.officialAccount(ctx, tenantPK(tenantID))
}

// bindOfficialAccount writes the record under both keys, the authorizer
// tokens, a history entry and the code's outcome in one transaction, with
// the conditions of a mini program's binding: the account serves one
// tenant, the tenant has one account, a re-authorization updates in place.
func (s *Store) bindOfficialAccount(ctx context.Context, o OfficialAccount, tokensPut, outcome *dynamo.Put, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Put(outcome)
	byApp, byTenant := o, o
	byApp.PK, byApp.SK = appPK(o.AppID), skOfficialAccount
	byTenant.PK, byTenant.SK = tenantPK(o.TenantID), skOfficialAccount
	tx.Put(s.table.Put(byApp).If("attribute_not_exists('pk') OR 'tenant_id' = ? OR 'status' = ?", o.TenantID, binding.StatusUnbound))
	tx.Put(s.table.Put(byTenant).If("attribute_not_exists('pk') OR 'appid' = ? OR 'status' = ?", o.AppID, binding.StatusUnbound))
	tx.Put(tokensPut)
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(o.TenantID), SK: historySK(now, o.AppID), AppID: o.AppID, Event: "official_account_bound",
		At: now.Unix()}))
	tx.Delete(s.table.Delete("pk", tenantPK(o.TenantID)).Range("sk", skOAAttempt))
	return storage.TranslateErr(tx.Run(ctx))
}

// unbindOfficialAccount marks both records unbound if still each other's.
func (s *Store) unbindOfficialAccount(ctx context.Context, o OfficialAccount, reason string, now time.Time) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", appPK(o.AppID)).Range("sk", skOfficialAccount).Set("status", binding.StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'tenant_id' = ?", o.TenantID))
	tx.Update(s.table.Update("pk", tenantPK(o.TenantID)).Range("sk", skOfficialAccount).Set("status", binding.StatusUnbound).
		Set("unbound_reason", reason).Set("updated_at", now.Unix()).If("'appid' = ?", o.AppID))
	tx.Put(s.table.Put(HistoryEntry{PK: tenantPK(o.TenantID), SK: historySK(now, o.AppID), AppID: o.AppID,
		Event: "official_account_unbound", Detail: reason, At: now.Unix()}))
	return storage.TranslateErr(tx.Run(ctx))
}

// recordOAAttempt keeps the tenant's failed official account authorization.
func (s *Store) recordOAAttempt(ctx context.Context, tenantID, appid string, problems []Problem, now time.Time) error {
	return s.table.Put(attempt{PK: tenantPK(tenantID), SK: skOAAttempt, AppID: appid, Problem: problems[0], Problems: problems,
		At: now.Unix()}).Run(ctx)
}

func (s *Store) oaAttempt(ctx context.Context, tenantID string) (*attempt, error) {
	var a attempt
	err := s.table.Get("pk", tenantPK(tenantID)).Range("sk", dynamo.Equal, skOAAttempt).Consistent(true).One(ctx, &a)
	if storage.IsNotFound(storage.TranslateErr(err)) {
		return nil, nil
	}
	return &a, err
}

// bindOfficialAccount diagnoses an authorized official account and
// connects it to the tenant, recording the outcome of authCode with it.
func (s *Service) bindOfficialAccount(ctx context.Context, tenantID string, _ Kind, authCode string, info wechat.AuthorizationInfo) (
	Result, error,
) {
	now := s.cfg.Now()
	appid := info.AuthorizerAppID
	details, err := s.wx.AuthorizerInfo(ctx, s.tokens.ComponentTokenSource(), appid)
	if wechat.IsCode(err, wechat.CodeNotAuthorized) {
		return Result{AppID: appid, Problems: []Problem{ProblemFor(ReasonRevoked, "")}}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("authorizer info: %w", err)
	}
	if problems := DiagnoseOfficialAccount(details); len(problems) > 0 {
		if err := s.store.recordOAAttempt(ctx, tenantID, appid, problems, now); err != nil {
			return Result{}, fmt.Errorf("record attempt: %w", err)
		}
		return Result{AppID: appid, Problems: problems}, nil
	}
	ai := details.AuthorizerInfo
	o := OfficialAccount{TenantID: tenantID, AppID: appid, Status: binding.StatusBound, Name: ai.NickName, HeadImg: ai.HeadImg,
		UserName: ai.UserName, PrincipalName: ai.PrincipalName, Certified: ai.VerifyTypeInfo.ID != -1, ServiceType: ai.ServiceTypeInfo.ID,
		Permissions: info.PermissionIDs(), BoundAt: now.Unix(), UpdatedAt: now.Unix()}
	if prev, err := s.store.officialAccountByAppID(ctx, appid); err == nil && prev.TenantID == tenantID && prev.Bound() {
		o.BoundAt = prev.BoundAt
	}
	outcome := s.store.outcomePut(authCode, outcomeItem{TenantID: tenantID, AppID: appid, Bound: true, Kind: KindOfficialAccount}, now)
	tokensPut, err := s.tokens.AuthorizerTokensPut(ctx, info)
	if err != nil {
		return Result{}, fmt.Errorf("seal authorizer tokens: %w", err)
	}
	err = s.store.bindOfficialAccount(ctx, o, tokensPut, outcome, now)
	if errors.Is(err, storage.ErrConflict) {
		reason := ReasonOtherOABound
		if prev, perr := s.store.officialAccountByAppID(ctx, appid); perr == nil && prev.Bound() && prev.TenantID != tenantID {
			reason = ReasonOABoundElsewhere
		}
		problems := []Problem{ProblemFor(reason, "")}
		if err := s.store.recordOAAttempt(ctx, tenantID, appid, problems, now); err != nil {
			return Result{}, fmt.Errorf("record attempt: %w", err)
		}
		return Result{AppID: appid, Problems: problems}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("bind official account: %w", err)
	}
	return Result{Bound: true, AppID: appid, OfficialAccount: &o}, nil
}

// unbindOfficialAccount disconnects the official account and stops
// refreshing its tokens (revoked in WeChat, or the admin's request).
func (s *Service) unbindOfficialAccount(ctx context.Context, o OfficialAccount, reason string) error {
	if err := s.store.unbindOfficialAccount(ctx, o, reason, s.cfg.Now()); err != nil && !errors.Is(err, storage.ErrConflict) {
		return err
	}
	return s.tokens.MarkUnauthorized(ctx, o.AppID, reason)
}

// DisconnectOfficialAccount ends the tenant's use of its official account
// (admin action).
func (s *Service) DisconnectOfficialAccount(ctx context.Context, tenantID string) error {
	o, err := s.store.OfficialAccountOf(ctx, tenantID)
	if storage.IsNotFound(err) || (err == nil && !o.Bound()) {
		return apperr.Missing("no official account is connected")
	}
	if err != nil {
		return err
	}
	return s.unbindOfficialAccount(ctx, o, "disconnected by the administrator")
}

// OfficialAccountStatus reports the tenant's official account, its token
// health and the last failed authorization with its fix.
func (s *Service) OfficialAccountStatus(ctx context.Context, tenantID string) (OfficialAccountStatus, error) {
	var st OfficialAccountStatus
	o, err := s.store.OfficialAccountOf(ctx, tenantID)
	if err != nil && !storage.IsNotFound(err) {
		return st, err
	}
	if err == nil {
		st.OfficialAccount, st.Connected = &o, o.Bound()
	}
	if st.Connected {
		ts, err := s.tokens.AuthorizerStatus(ctx, o.AppID)
		if err != nil && !storage.IsNotFound(err) {
			return st, fmt.Errorf("authorizer token status: %w", err)
		}
		if err == nil {
			st.Tokens, st.NeedsReauth = &ts, ts.NeedsReauth
		}
	}
	a, err := s.store.oaAttempt(ctx, tenantID)
	if err != nil {
		return st, err
	}
	if a != nil && !st.Connected {
		st.LastError, st.Problems = &a.Problem, a.Problems
	}
	return st, nil
}
