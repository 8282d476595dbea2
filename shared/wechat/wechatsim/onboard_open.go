package wechatsim

import "net/http"

// Open platform accounts created through the platform: each has the
// principal of the account that created it, holds at most 5 accounts of
// that principal while uncertified (create.html), and every account bound
// to it sees its users under one unionid.
// https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/account/bind.html

type openAccount struct {
	appid, principal string
	members          []string
}

// openBindLimit is the number of accounts an uncertified open account
// created through the API may hold.
const openBindLimit = 5

// openRequest is the body of every open/* API: appid, when given, must be
// the token's account (else 40013).
type openRequest struct {
	AppID     string `json:"appid"`
	OpenAppID string `json:"open_appid"`
}

func (s *Sim) openRoutes() {
	s.handle("POST", "/cgi-bin/open/create", "open_create", onboardAPI(s.withOpen(s.openCreate)))
	s.handle("POST", "/cgi-bin/open/bind", "open_bind", onboardAPI(s.withOpen(s.openBind)))
	s.handle("POST", "/cgi-bin/open/unbind", "open_unbind", onboardAPI(s.withOpen(s.openUnbind)))
	s.handle("POST", "/cgi-bin/open/get", "open_get", onboardAPI(s.withOpen(s.openGet)))
}

// withOpen resolves the authorizer token and decodes the body.
func (s *Sim) withOpen(fn func(a *Authorizer, o *onboarding, req openRequest) (any, int)) apiFunc {
	return func(r *http.Request, body []byte) (any, int) {
		a, c := s.authorizerOf(r)
		if c != 0 {
			return nil, c
		}
		var req openRequest
		if c := decode(body, &req); c != 0 {
			return nil, c
		}
		if req.AppID != "" && req.AppID != a.AppID {
			return nil, codeInvalidAppID
		}
		return fn(a, s.onboard(), req)
	}
}

func (s *Sim) openCreate(a *Authorizer, o *onboarding, _ openRequest) (any, int) {
	if o.openOf[a.AppID] != "" {
		return nil, codeOpenAlreadyBound
	}
	open := &openAccount{appid: "wx" + randomHex(8), principal: a.PrincipalName, members: []string{a.AppID}}
	o.opens[open.appid] = open
	o.openOf[a.AppID] = open.appid
	return okReply(map[string]any{fieldErrMsg: "ok", "open_appid": open.appid}), 0
}

func (s *Sim) openBind(a *Authorizer, o *onboarding, req openRequest) (any, int) {
	open, ok := o.opens[req.OpenAppID]
	switch {
	case !ok:
		return nil, codeInvalidAppID
	case o.openOf[a.AppID] != "":
		return nil, codeOpenAlreadyBound
	case open.principal != a.PrincipalName:
		return nil, codeOpenNotSamePrincipal
	case len(open.members) >= openBindLimit:
		return nil, codeOpenBindLimit
	}
	open.members = append(open.members, a.AppID)
	o.openOf[a.AppID] = open.appid
	return okReply(map[string]any{fieldErrMsg: "ok"}), 0
}

// openUnbind unbinds the account from the open account it names; naming
// another open account than its own is 40013 (the page's "appid 或
// open_appid 无效"; the exact code for this case is not documented).
func (s *Sim) openUnbind(a *Authorizer, o *onboarding, req openRequest) (any, int) {
	open, ok := o.opens[req.OpenAppID]
	if !ok || o.openOf[a.AppID] != req.OpenAppID {
		return nil, codeInvalidAppID
	}
	delete(o.openOf, a.AppID)
	for i, m := range open.members {
		if m == a.AppID {
			open.members = append(open.members[:i], open.members[i+1:]...)
			break
		}
	}
	return okReply(map[string]any{fieldErrMsg: "ok"}), 0
}

func (s *Sim) openGet(a *Authorizer, o *onboarding, _ openRequest) (any, int) {
	open := o.openOf[a.AppID]
	if open == "" {
		return nil, codeOpenNotBound
	}
	return okReply(map[string]any{fieldErrMsg: "ok", "open_appid": open}), 0
}

// OpenAccountOf is the open account appid is bound to ("" for none).
func (s *Sim) OpenAccountOf(appid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onboard().openOf[appid]
}
