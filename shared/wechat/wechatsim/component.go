package wechatsim

import (
	"maps"
	"net/http"
	"sort"
	"time"
)

// Authorizer is an account that can authorize the platform.
type Authorizer struct {
	AppID         string
	Name          string
	UserName      string // original id, gh_...
	PrincipalName string
	HeadImg       string
	Signature     string
	// MiniProgram is false for an official account.
	MiniProgram bool
	// VerifyType is -1 for uncertified, 0 for WeChat-certified.
	VerifyType  int
	ServiceType int
	Permissions []int
	Categories  []Category
	// AuthorizedElsewhere marks an account already bound to another
	// platform's application: the authorization page refuses it.
	AuthorizedElsewhere bool

	authorized   bool
	refreshToken string
	tokens       *tokenSet
	authTime     time.Time
}

// Category is a mini program service category.
type Category struct{ First, Second string }

// preAuthTTL is the lifetime of a pre-auth code.
const preAuthTTL = 30 * time.Minute

type authCode struct {
	appid   string
	expiry  time.Time
	used    bool
	preAuth string
}

// AddAuthorizer registers (or replaces) an account.
func (s *Sim) AddAuthorizer(a Authorizer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.authorizers[a.AppID]; ok {
		a.authorized, a.refreshToken, a.tokens, a.authTime = old.authorized, old.refreshToken, old.tokens, old.authTime
	}
	if a.tokens == nil {
		a.tokens = newTokenSet()
	}
	s.authorizers[a.AppID] = &a
}

// Authorize grants the platform access to appid as the authorization page
// does: it issues a new refresh token (invalidating the previous one) and a
// single-use authorization code valid for 10 minutes.
func (s *Sim) Authorize(appid string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authorizeLocked(appid)
}

func (s *Sim) authorizeLocked(appid string) (string, error) {
	a, ok := s.authorizers[appid]
	if !ok {
		return "", errUnknownAccount
	}
	now := s.opts.Now()
	a.authorized = true
	a.authTime = now
	a.refreshToken = "refreshtoken@@@" + randomHex(16)
	a.tokens.invalidate()
	code := "queryauthcode@@@" + randomHex(16)
	s.authCodes[code] = &authCode{appid: appid, expiry: now.Add(10 * time.Minute)}
	return code, nil
}

// Unauthorize revokes the platform's access to appid.
func (s *Sim) Unauthorize(appid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authorizers[appid]; ok {
		a.authorized = false
		a.refreshToken = ""
		a.tokens.invalidate()
	}
}

// CurrentRefreshToken is appid's valid refresh token ("" when unauthorized).
func (s *Sim) CurrentRefreshToken(appid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authorizers[appid]; ok {
		return a.refreshToken
	}
	return ""
}

// ValidAuthorizerToken reports whether token is a valid access token of appid now.
func (s *Sim) ValidAuthorizerToken(appid, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authorizers[appid]
	return ok && a.authorized && a.tokens.check(token, s.opts.Now()) == 0
}

// ValidComponentToken reports whether token is a valid component token now.
func (s *Sim) ValidComponentToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compTokens.check(token, s.opts.Now()) == 0
}

// RevokeComponentTokens invalidates every component token, as happens when
// another environment mints one with the same credentials.
func (s *Sim) RevokeComponentTokens() {
	s.mu.Lock()
	s.compTokens.invalidate()
	s.mu.Unlock()
}

// IssueTicket creates a new valid verify ticket without pushing it.
func (s *Sim) IssueTicket() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueTicketLocked()
}

func (s *Sim) issueTicketLocked() string {
	t := "ticket@@@" + randomHex(24)
	s.tickets[t] = s.opts.Now()
	s.latestTicket = t
	return t
}

// componentApp is the component_appid every component API's body carries.
type componentApp struct {
	ComponentAppID string `json:"component_appid"`
}

func (c componentApp) componentAppID() string { return c.ComponentAppID }

// componentBody is a component API's request body.
type componentBody interface{ componentAppID() string }

// checkComponentAppID checks a body's component_appid: none is 41018
// "missing component_appid" (what WeChat answers a form-encoded
// api_component_token, community 2021); another appid is wrong.
func (s *Sim) checkComponentAppID(appid string, wrong int) int {
	switch appid {
	case "":
		return codeComponentAppIDMissing
	case s.opts.ComponentAppID:
		return 0
	}
	return wrong
}

// componentCall checks a component API call the way WeChat does, in order:
// the component token (either parameter name), the JSON body, then its
// component_appid (another platform's is 40013 "invalid appid": community
// reply to getPreAuthCode, 2024).
func (s *Sim) componentCall(r *http.Request, body []byte, req componentBody) int {
	if c := s.checkComponentToken(componentAPIToken(r)); c != 0 {
		return c
	}
	if c := decode(body, req); c != 0 {
		return c
	}
	return s.checkComponentAppID(req.componentAppID(), codeInvalidAppID)
}

// checkComponentSecret checks what api_component_token and
// api_start_push_ticket authenticate with: an appid that is not this
// platform's is 61011 "invalid component" (community: an official
// account's appid sent to api_component_token, 2025); then the secret
// (41004 missing, 40125 wrong; component_access_token.html's error table).
func (s *Sim) checkComponentSecret(appid, secret string) int {
	if c := s.checkComponentAppID(appid, codeInvalidComponent); c != 0 {
		return c
	}
	switch secret {
	case "":
		return codeAppSecretMissing
	case s.opts.ComponentSecret:
		return 0
	}
	return codeInvalidAppSecret
}

func (s *Sim) routes() {
	s.handle("POST", "/cgi-bin/component/api_component_token", "api_component_token", s.componentToken)
	s.handle("POST", "/cgi-bin/component/api_start_push_ticket", "api_start_push_ticket", s.startPushTicket)
	s.handle("POST", "/cgi-bin/component/api_create_preauthcode", "api_create_preauthcode", s.createPreAuthCode)
	s.handle("POST", "/cgi-bin/component/api_query_auth", "api_query_auth", s.queryAuth)
	s.handle("POST", "/cgi-bin/component/api_authorizer_token", "api_authorizer_token", s.authorizerToken)
	s.handle("POST", "/cgi-bin/component/api_get_authorizer_info", "api_get_authorizer_info", s.authorizerInfo)
	s.handle("POST", "/cgi-bin/component/api_get_authorizer_list", "api_get_authorizer_list", s.authorizerList)
	s.handle("GET", "/sns/component/jscode2session", "component_jscode2session", s.componentJSCode2Session)
	s.handle("GET", "/sns/jscode2session", "jscode2session", s.jsCode2Session)
	s.handle("GET", "/cgi-bin/token", "token", s.appToken)
	s.codeRoutes()
	s.prepareRoutes()
	s.onboardRoutes()
	s.releaseOpsRoutes()
	s.fleetRoutes()
	s.consoleRoutes()
	s.authPageRoutes()
}

func (s *Sim) componentToken(_ *http.Request, body []byte) (any, int) {
	var req struct {
		componentApp
		Secret string `json:"component_appsecret"`
		Ticket string `json:"component_verify_ticket"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if c := s.checkComponentSecret(req.ComponentAppID, req.Secret); c != 0 {
		return nil, c
	}
	// A missing ticket is no valid ticket.
	issued, ok := s.tickets[req.Ticket]
	if !ok {
		return nil, codeTicketInvalid
	}
	if !s.opts.Now().Before(issued.Add(s.opts.TicketTTL)) {
		return nil, codeTicketExpired
	}
	tok := s.compTokens.issue("componenttoken@@@", s.opts.Now(), s.opts.TokenTTL, s.opts.OldTokenGrace)
	return expiring("component_access_token", tok, s.opts.TokenTTL), 0
}

func (s *Sim) startPushTicket(_ *http.Request, body []byte) (any, int) {
	var req struct {
		componentApp
		Secret string `json:"component_secret"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if c := s.checkComponentSecret(req.ComponentAppID, req.Secret); c != 0 {
		return nil, c
	}
	if s.pushURL != "" {
		s.pushSoon(s.pushURL)
	}
	return okReply(map[string]any{"errmsg": "ok"}), 0
}

func (s *Sim) createPreAuthCode(r *http.Request, body []byte) (any, int) {
	var req componentApp
	if c := s.componentCall(r, body, &req); c != 0 {
		return nil, c
	}
	code := "preauthcode@@@" + randomHex(16)
	s.preAuth[code] = s.opts.Now().Add(preAuthTTL)
	return expiring("pre_auth_code", code, preAuthTTL), 0
}

// queryAuth is api_query_auth. A missing authorization_code is answered
// as an invalid one (61009), as WeChat answers a null refresh token with
// 61023 (see authorizerToken).
func (s *Sim) queryAuth(r *http.Request, body []byte) (any, int) {
	var req struct {
		componentApp
		Code string `json:"authorization_code"`
	}
	if c := s.componentCall(r, body, &req); c != 0 {
		return nil, c
	}
	ac, ok := s.authCodes[req.Code]
	if !ok || ac.used {
		return nil, codeAuthCodeInvalid
	}
	if !s.opts.Now().Before(ac.expiry) {
		return nil, codeAuthCodeExpired
	}
	ac.used = true
	a := s.authorizers[ac.appid]
	if a == nil || !a.authorized {
		return nil, codeNotAuthorized
	}
	tok := a.tokens.issue("authorizertoken@@@", s.opts.Now(), s.opts.TokenTTL, s.opts.OldTokenGrace)
	info := expiring("authorizer_access_token", tok, s.opts.TokenTTL)
	maps.Copy(info, authorizationInfo(a))
	return map[string]any{"authorization_info": info}, 0
}

// authorizationInfo is what an authorization grants: the account, the
// refresh token and the permission sets.
func authorizationInfo(a *Authorizer) map[string]any {
	return map[string]any{
		"authorizer_appid": a.AppID, "authorizer_refresh_token": a.refreshToken, "func_info": funcInfo(a.Permissions),
	}
}

func funcInfo(ids []int) []map[string]any {
	out := []map[string]any{}
	for _, id := range ids {
		out = append(out, map[string]any{"funcscope_category": map[string]int{"id": id},
			"confirm_info": map[string]int{"need_confirm": 0, "already_confirm": 0, "can_confirm": 0}})
	}
	return out
}

// authorizerBody is the body of the component APIs about one authorizer.
type authorizerBody struct {
	componentApp
	AuthorizerAppID string `json:"authorizer_appid"`
}

// authorizer resolves the authorizer a component API names: none is 41002
// "appid missing", one not authorized to this platform 61003.
func (s *Sim) authorizer(appid string) (*Authorizer, int) {
	if appid == "" {
		return nil, codeAppIDMissing
	}
	a, ok := s.authorizers[appid]
	if !ok || !a.authorized {
		return nil, codeNotAuthorized
	}
	return a, 0
}

// authorizerToken is api_authorizer_token. A null or empty refresh token
// is 61023, as WeChat answered WxJava's demo (weixin-java-open-demo#1).
func (s *Sim) authorizerToken(r *http.Request, body []byte) (any, int) {
	var req struct {
		authorizerBody
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	if c := s.componentCall(r, body, &req); c != 0 {
		return nil, c
	}
	a, c := s.authorizer(req.AuthorizerAppID)
	if c != 0 {
		return nil, c
	}
	if req.RefreshToken == "" || req.RefreshToken != a.refreshToken {
		return nil, codeRefreshTokenInvalid
	}
	tok := a.tokens.issue("authorizertoken@@@", s.opts.Now(), s.opts.TokenTTL, s.opts.OldTokenGrace)
	out := expiring("authorizer_access_token", tok, s.opts.TokenTTL)
	out["authorizer_refresh_token"] = a.refreshToken
	return out, 0
}

func (s *Sim) authorizerInfo(r *http.Request, body []byte) (any, int) {
	var req authorizerBody
	if c := s.componentCall(r, body, &req); c != 0 {
		return nil, c
	}
	a, c := s.authorizer(req.AuthorizerAppID)
	if c != 0 {
		return nil, c
	}
	info := map[string]any{
		"nick_name": a.Name, "head_img": a.HeadImg, "user_name": a.UserName, "principal_name": a.PrincipalName,
		"signature": a.Signature, "service_type_info": map[string]int{"id": a.ServiceType},
		"verify_type_info": map[string]int{"id": a.VerifyType}, "account_status": 1,
		"basic_config": map[string]bool{"is_phone_configured": true, "is_email_configured": true},
	}
	if a.MiniProgram {
		cats := []map[string]string{}
		for _, c := range a.Categories {
			cats = append(cats, map[string]string{"first": c.First, "second": c.Second})
		}
		info["MiniProgramInfo"] = map[string]any{"network": map[string][]string{"RequestDomain": {}}, "categories": cats, "visit_status": 0}
	}
	return map[string]any{"authorizer_info": info, "authorization_info": authorizationInfo(a)}, 0
}

// authorizerList is api_get_authorizer_list: count is required and at
// most 500 (api_getauthorizerlist's page).
func (s *Sim) authorizerList(r *http.Request, body []byte) (any, int) {
	var req struct {
		componentApp
		Offset int `json:"offset"`
		Count  int `json:"count"`
	}
	if c := s.componentCall(r, body, &req); c != 0 {
		return nil, c
	}
	if req.Count <= 0 || req.Count > 500 || req.Offset < 0 {
		return nil, codeDataFormat
	}
	var ids []string
	for id, a := range s.authorizers {
		if a.authorized {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	list := []map[string]any{}
	for i := req.Offset; i < len(ids) && i < req.Offset+req.Count; i++ {
		a := s.authorizers[ids[i]]
		list = append(list, map[string]any{"authorizer_appid": a.AppID, "refresh_token": a.refreshToken, "auth_time": a.authTime.Unix()})
	}
	return map[string]any{"total_count": len(ids), "list": list}, 0
}
