package authorization

import (
	"context"
	"fmt"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// Same-entity binding: the tenant's mini program and official account are
// bound to one open platform account (开放平台账号), so WeChat gives each of
// their users one unionid in both.

// OpenAccount is the open account the tenant's accounts share.
type OpenAccount struct {
	PK        string          `dynamo:"pk,hash" json:"-"`
	SK        string          `dynamo:"sk,range" json:"-"`
	OpenAppID string          `dynamo:"open_appid" json:"open_appid"`
	Accounts  []SharedAccount `dynamo:"accounts,omitempty" json:"accounts"`
	UpdatedAt int64           `dynamo:"updated_at" json:"updated_at"`
}

// SharedAccount is one account bound to the open account.
type SharedAccount struct {
	AppID string `dynamo:"appid" json:"appid"`
	Kind  string `dynamo:"kind" json:"kind"` // mini_program or official_account
	Name  string `dynamo:"name" json:"name"`
}

const skOpenAccount = "openaccount"

// OpenAccountView is what the console shows: whether the accounts share
// an open account, and which.
type OpenAccountView struct {
	Shared      bool         `json:"shared"`
	OpenAccount *OpenAccount `json:"open_account,omitempty"`
}

func (s *Store) openAccount(ctx context.Context, tenantID string) (OpenAccount, error) {
	var o OpenAccount
	err := s.table.Get("pk", tenantPK(tenantID)).Range("sk", dynamo.Equal, skOpenAccount).Consistent(true).One(ctx, &o)
	return o, storage.TranslateErr(err)
}

func (s *Store) putOpenAccount(ctx context.Context, tenantID string, o OpenAccount) error {
	o.PK, o.SK = tenantPK(tenantID), skOpenAccount
	return s.table.Put(o).Run(ctx)
}

func (s *Store) deleteOpenAccount(ctx context.Context, tenantID string) error {
	return s.table.Delete("pk", tenantPK(tenantID)).Range("sk", skOpenAccount).Run(ctx)
}

// Problems of the same-entity binding.
var (
	errNeedsBothAccounts = apperr.E(apperr.Conflict, "needs_both_accounts",
		"connect both your mini program and your Official Account first; then they can share users")
	problemNotSamePrincipal = Problem{Code: "not_same_principal",
		Message:  "The mini program and the Official Account belong to different principals (companies).",
		Solution: "Only accounts of one principal can share users. Connect the Official Account of the mini program's company."}
	problemOpenAccountsDiffer = Problem{Code: "open_accounts_differ",
		Message: "The mini program and the Official Account are already bound to two different open platform accounts.",
		Solution: "On open.weixin.qq.com, unbind one of them from its open platform account (or bind both to the same one), " +
			"then try again."}
	problemNotManaged = Problem{Code: "open_account_not_managed",
		Message:  "The open platform account was created on open.weixin.qq.com and is not certified, so our platform may not change it.",
		Solution: "Certify the open platform account on open.weixin.qq.com, or bind the other account to it there."}
	problemBindLimit = Problem{Code: "open_account_full",
		Message:  "The open platform account holds as many accounts as WeChat allows (5 while uncertified).",
		Solution: "Certify the open platform account on open.weixin.qq.com, or unbind an account from it."}
)

// openProblem maps a WeChat refusal of open/* to the admin's problem.
func openProblem(err error) error {
	var p Problem
	switch {
	case wechat.IsCode(err, wechat.CodeOpenNotSamePrincipal):
		p = problemNotSamePrincipal
	case wechat.IsCode(err, wechat.CodeOpenNotCreatedByAPI, wechat.CodeOpenNotAPIOrUnverified):
		p = problemNotManaged
	case wechat.IsCode(err, wechat.CodeOpenBindLimit):
		p = problemBindLimit
	default:
		return err
	}
	return apperr.E(apperr.Rejected, p.Code, p.Message).WithDetails(p)
}

// sharedPair is the tenant's two connected accounts.
type sharedPair struct {
	mp, oa SharedAccount
}

func (s *Service) bothAccounts(ctx context.Context, tenantID string) (sharedPair, error) {
	b, err := s.store.ByTenant(ctx, tenantID)
	if err != nil && !storage.IsNotFound(err) {
		return sharedPair{}, err
	}
	oa, oerr := s.store.OfficialAccountOf(ctx, tenantID)
	if oerr != nil && !storage.IsNotFound(oerr) {
		return sharedPair{}, oerr
	}
	if err != nil || oerr != nil || !b.Bound() || !oa.Bound() {
		return sharedPair{}, errNeedsBothAccounts
	}
	return sharedPair{mp: SharedAccount{AppID: b.AppID, Kind: "mini_program", Name: b.Name},
		oa: SharedAccount{AppID: oa.AppID, Kind: string(KindOfficialAccount), Name: oa.Name}}, nil
}

// ShareIdentity binds the tenant's mini program and official account to
// one open account: the one either is bound to already, else a new one
// created with the mini program. It asks WeChat where each stands first,
// so a retry after any failure converges.
func (s *Service) ShareIdentity(ctx context.Context, tenantID string) (OpenAccountView, error) {
	pair, err := s.bothAccounts(ctx, tenantID)
	if err != nil {
		return OpenAccountView{}, err
	}
	mpToken, oaToken := s.tokens.AuthorizerTokenSource(pair.mp.AppID), s.tokens.AuthorizerTokenSource(pair.oa.AppID)
	mpOpen, err := s.wx.OpenAccountOf(ctx, mpToken, pair.mp.AppID)
	if err != nil {
		return OpenAccountView{}, fmt.Errorf("open account of the mini program: %w", err)
	}
	oaOpen, err := s.wx.OpenAccountOf(ctx, oaToken, pair.oa.AppID)
	if err != nil {
		return OpenAccountView{}, fmt.Errorf("open account of the official account: %w", err)
	}
	open := mpOpen
	switch {
	case mpOpen != "" && oaOpen != "" && mpOpen != oaOpen:
		p := problemOpenAccountsDiffer
		return OpenAccountView{}, apperr.E(apperr.Rejected, p.Code, p.Message).WithDetails(p)
	case mpOpen == "" && oaOpen == "":
		if open, err = s.wx.CreateOpenAccount(ctx, mpToken, pair.mp.AppID); err != nil {
			return OpenAccountView{}, openProblem(fmt.Errorf("create the open account: %w", err))
		}
		err = s.wx.BindOpenAccount(ctx, oaToken, pair.oa.AppID, open)
	case mpOpen == "":
		open = oaOpen
		err = s.wx.BindOpenAccount(ctx, mpToken, pair.mp.AppID, open)
	case oaOpen == "":
		err = s.wx.BindOpenAccount(ctx, oaToken, pair.oa.AppID, open)
	}
	if err != nil && !wechat.IsCode(err, wechat.CodeOpenAlreadyBound) {
		return OpenAccountView{}, openProblem(fmt.Errorf("bind to the open account: %w", err))
	}
	rec := OpenAccount{OpenAppID: open, Accounts: []SharedAccount{pair.mp, pair.oa}, UpdatedAt: s.cfg.Now().Unix()}
	if err := s.store.putOpenAccount(ctx, tenantID, rec); err != nil {
		return OpenAccountView{}, fmt.Errorf("record the open account: %w", err)
	}
	return OpenAccountView{Shared: true, OpenAccount: &rec}, nil
}

// OpenAccountOf shows which of the tenant's accounts share an open account.
func (s *Service) OpenAccountOf(ctx context.Context, tenantID string) (OpenAccountView, error) {
	o, err := s.store.openAccount(ctx, tenantID)
	if storage.IsNotFound(err) {
		return OpenAccountView{}, nil
	}
	if err != nil {
		return OpenAccountView{}, err
	}
	return OpenAccountView{Shared: true, OpenAccount: &o}, nil
}

// StopSharingIdentity unbinds the tenant's accounts from their open
// account. An account no longer bound to it (unbound in WeChat's console
// meanwhile, 40013/89002) is skipped, so a retry converges.
func (s *Service) StopSharingIdentity(ctx context.Context, tenantID string) error {
	o, err := s.store.openAccount(ctx, tenantID)
	if storage.IsNotFound(err) {
		return apperr.Missing("the accounts share no open platform account")
	}
	if err != nil {
		return err
	}
	for _, a := range o.Accounts {
		err := s.wx.UnbindOpenAccount(ctx, s.tokens.AuthorizerTokenSource(a.AppID), a.AppID, o.OpenAppID)
		if err != nil && !wechat.IsCode(err, wechat.CodeInvalidAppID, wechat.CodeOpenNotBound, wechat.CodeNotAuthorized) {
			return openProblem(fmt.Errorf("unbind %s from the open account: %w", a.AppID, err))
		}
	}
	return s.store.deleteOpenAccount(ctx, tenantID)
}
