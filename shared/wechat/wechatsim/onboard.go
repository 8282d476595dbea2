package wechatsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// onboardRoutes serves the APIs of getting a mini program and sharing an
// identity across accounts: quick registration (reusing an official
// account's qualification, or an enterprise's), and the open platform
// account binding (open/create, bind, get, unbind).
func (s *Sim) onboardRoutes() {
	s.handle("POST", "/cgi-bin/account/fastregister", "fastregister", onboardAPI(s.fastRegister))
	s.handle("POST", "/cgi-bin/component/fastregisterweapp", "fastregisterweapp", onboardAPI(s.fastRegisterWeapp))
	s.openRoutes()
	s.onboardConsole()
}

// Error codes of quick registration, each with its errmsg. The pages give
// Chinese descriptions only (fast_registration_of_mini_program.html,
// Fast_Registration_Interface_document.html); the English texts are
// fastregisterweapp's 提示语 column where it has one.
const (
	codeFRPrincipalType   = 61051
	codeFRNotCertified    = 61052
	codeFRTicketInvalid   = 61058
	codeFRTaskRunning     = 89249
	codeFRInvalidWeChat   = 86004
	codeFRLegalNameWeChat = 61070
	codeFRInvalidCodeType = 89248
	codeFRTaskNotFound    = 89250
	codeFRAwaitingLegal   = 89251
	codeFRMissingParams   = 89253
	codeFRInvalidCode     = 89255

	codeOpenAlreadyBound     = 89000
	codeOpenNotSamePrincipal = 89001
	codeOpenNotBound         = 89002
	codeOpenBindLimit        = 89004
)

// Reply fields the onboarding APIs and their console share.
const (
	fieldErrCode = "errcode"
	fieldErrMsg  = "errmsg"
	fieldAppID   = "appid"
	fieldCode    = "code"
	fieldStatus  = "status"
	fieldPushed  = "pushed"
)

// onboardMessages are the errmsgs of the onboarding codes. They are kept
// here, beside their APIs, rather than in errcodes.go's table of the
// codes every API shares.
var onboardMessages = map[int]string{
	codeFRPrincipalType:      "公众号主体类型不允许快速创建",
	codeFRNotCertified:       "公众号未认证",
	codeFRTicketInvalid:      "invalid ticket", // a community report of the real reply, 2022
	codeFRTaskRunning:        "task running",
	codeFRInvalidWeChat:      "invalid wechat",
	codeFRLegalNameWeChat:    "name, wechat name not in accordance",
	codeFRInvalidCodeType:    "invalid code type",
	codeFRTaskNotFound:       "task not found",
	codeFRAwaitingLegal:      "legal person checking",
	codeFRMissingParams:      "lack of some params",
	codeFRInvalidCode:        "invalid code",
	codeOpenAlreadyBound:     "account has bound open",
	codeOpenNotSamePrincipal: "not same contractor",
	codeOpenNotBound:         "open not exists",
	codeOpenBindLimit:        "open account has reached the bind limit",
}

// onboardAPI answers an onboarding code with its errmsg, in WeChat's error
// reply (errcode, errmsg ending in the request id); the codes every API
// shares go through the simulator's own table.
func onboardAPI(fn apiFunc) apiFunc {
	return func(r *http.Request, body []byte) (any, int) {
		out, code := fn(r, body)
		if msg, ok := onboardMessages[code]; ok {
			return map[string]any{fieldErrCode: code, fieldErrMsg: msg + " rid: " + randomHex(8)}, 0
		}
		return out, code
	}
}

// Company is an enterprise as the business registry (工商数据) knows it:
// what WeChat checks an enterprise registration against after the legal
// representative confirms.
type Company struct {
	Name, Code string
	// LegalName and LegalWeChat are the legal representative's name and
	// WeChat id.
	LegalName, LegalWeChat string
}

// onboarding is the simulator's state of quick registrations and open
// accounts. It lives beside the Sim (keyed by it) rather than in it, and
// is guarded by the Sim's lock like every API's state.
type onboarding struct {
	companies map[string]Company   // by code
	tasks     map[string]*regTask  // enterprise registrations by legal WeChat id
	tickets   map[string]*frTicket // confirmation page tickets
	opens     map[string]*openAccount
	openOf    map[string]string // appid → open appid
}

// regTask is a running enterprise registration.
type regTask struct {
	info    registrationInfo
	created time.Time
}

// registrationInfo is fastregisterweapp's body, echoed in the push.
type registrationInfo struct {
	Name               string `json:"name" xml:"name"`
	Code               string `json:"code" xml:"code"`
	CodeType           int    `json:"code_type" xml:"code_type"`
	LegalPersonaWechat string `json:"legal_persona_wechat" xml:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name" xml:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone" xml:"component_phone"`
}

// frTicket is the ticket WeChat's confirmation page redirects with.
type frTicket struct {
	oaAppID    string
	copyVerify bool
	expiry     time.Time
	used       bool
}

var onboardStates sync.Map // *Sim → *onboarding

// onboard returns the Sim's onboarding state; s.mu is held.
func (s *Sim) onboard() *onboarding {
	if o, ok := onboardStates.Load(s); ok {
		return o.(*onboarding)
	}
	o, _ := onboardStates.LoadOrStore(s, &onboarding{companies: map[string]Company{}, tasks: map[string]*regTask{},
		tickets: map[string]*frTicket{}, opens: map[string]*openAccount{}, openOf: map[string]string{}})
	return o.(*onboarding)
}

// AddCompany registers an enterprise in the simulated business registry.
func (s *Sim) AddCompany(c Company) {
	s.mu.Lock()
	s.onboard().companies[c.Code] = c
	s.mu.Unlock()
}

// ticketTTL is how long a confirmation page's ticket is accepted. WeChat
// documents no lifetime; the simulator takes the authorization code's.
const ticketTTL = 10 * time.Minute

// ConfirmFastRegisterPage plays the official account's administrator
// scanning WeChat's confirmation page (fastregisterauth) and agreeing:
// WeChat redirects the browser to redirect_uri with a ticket. The page
// names an official account authorized to this platform, and redirects
// only to the start-page domain (the SDKs' note on redirect_uri: its host
// must be the platform's 登录授权的发起页域名).
func (s *Sim) ConfirmFastRegisterPage(authURL string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	if page := u.Scheme + "://" + u.Host + u.Path; page != FastRegisterAuthPage {
		return "", fmt.Errorf("not WeChat's quick registration page: %s", page)
	}
	q := u.Query()
	if q.Get("component_appid") != s.opts.ComponentAppID {
		return "", errors.New("confirmation page for another platform")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if back := hostOf(q.Get("redirect_uri")); s.startDomain == "" || !strings.EqualFold(back, s.startDomain) {
		return "", fmt.Errorf("%w: redirect_uri domain %q", ErrStartPageDomain, back)
	}
	a, ok := s.authorizers[q.Get("appid")]
	if !ok || !a.authorized || a.MiniProgram {
		return "", errors.New("the page names no official account authorized to this platform")
	}
	ticket := randomHex(16)
	s.onboard().tickets[ticket] = &frTicket{oaAppID: a.AppID, copyVerify: q.Get("copy_wx_verify") == "1",
		expiry: s.opts.Now().Add(ticketTTL)}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		return "", errors.New("confirmation page without a valid redirect_uri")
	}
	rq := redirect.Query()
	rq.Set("ticket", ticket)
	redirect.RawQuery = rq.Encode()
	return redirect.String(), nil
}

// FastRegisterAuthPage is WeChat's quick registration confirmation page.
const FastRegisterAuthPage = "https://mp.weixin.qq.com/cgi-bin/fastregisterauth"

// fastRegister is account/fastregister, called with the official
// account's token: the ticket must come from that account's confirmation
// page, once. The new mini program has the official account's principal,
// is certified when the page asked to reuse a certified account's
// certification, and is authorized to the platform at once.
func (s *Sim) fastRegister(r *http.Request, body []byte) (any, int) {
	oa, c := s.authorizerOf(r)
	if c != 0 {
		return nil, c
	}
	var req struct {
		Ticket string `json:"ticket"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if oa.MiniProgram {
		return nil, codeFRPrincipalType
	}
	if oa.VerifyType == -1 {
		return nil, codeFRNotCertified
	}
	t, ok := s.onboard().tickets[req.Ticket]
	if !ok || t.used || t.oaAppID != oa.AppID || !s.opts.Now().Before(t.expiry) {
		return nil, codeFRTicketInvalid
	}
	t.used = true
	verify := -1
	if t.copyVerify {
		verify = 0
	}
	appid, code := s.newMiniProgramLocked(oa.PrincipalName, verify)
	return okReply(map[string]any{fieldErrMsg: "", fieldAppID: appid, "authorization_code": code,
		"is_wx_verify_succ": fmt.Sprint(t.copyVerify), "is_link_succ": "true"}), 0
}

// newMiniProgramLocked creates a mini program of principal, authorized to
// the platform with the permission sets the product needs, and returns it
// with its authorization code. A new mini program has no name, icon,
// description or category yet. s.mu is held.
func (s *Sim) newMiniProgramLocked(principal string, verifyType int) (string, string) {
	appid := "wx" + randomHex(8)
	s.authorizers[appid] = &Authorizer{AppID: appid, UserName: "gh_" + randomHex(6), PrincipalName: principal, MiniProgram: true,
		VerifyType: verifyType, Permissions: []int{17, 18, 25, 30}, tokens: newTokenSet()}
	code, _ := s.authorizeLocked(appid)
	return appid, code
}

// fastRegisterWeapp is fastregisterweapp with action create or search,
// called with the component token.
func (s *Sim) fastRegisterWeapp(r *http.Request, body []byte) (any, int) {
	if c := s.checkComponentToken(componentAPIToken(r)); c != 0 {
		return nil, c
	}
	var req registrationInfo
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	o := s.onboard()
	switch r.URL.Query().Get("action") {
	case "create":
		if c := s.checkRegistration(req); c != 0 {
			return nil, c
		}
		for _, t := range o.tasks {
			if t.info.Name == req.Name || t.info.LegalPersonaWechat == req.LegalPersonaWechat {
				return nil, codeFRTaskRunning
			}
		}
		o.tasks[req.LegalPersonaWechat] = &regTask{info: req, created: s.opts.Now()}
		return okReply(map[string]any{fieldErrMsg: "OK"}), 0
	case "search":
		if req.Name == "" || req.LegalPersonaWechat == "" || req.LegalPersonaName == "" {
			return nil, codeFRMissingParams
		}
		if t, ok := o.tasks[req.LegalPersonaWechat]; ok && t.info.Name == req.Name && t.info.LegalPersonaName == req.LegalPersonaName {
			return nil, codeFRAwaitingLegal
		}
		return nil, codeFRTaskNotFound
	}
	return nil, codeDataFormat
}

// codeLengths are the lengths of each code_type's code: the credit code
// (18), the organisation code (xxxxxxxx-x) and the registration number (15).
var codeLengths = map[int]int{1: 18, 2: 10, 3: 15}

// checkRegistration checks a create the way WeChat does at once: every
// field, the code's type and length, and the legal representative's WeChat
// id and its real name. The company itself is checked only after the legal
// representative confirms. s.mu is held.
func (s *Sim) checkRegistration(req registrationInfo) int {
	if req.Name == "" || req.Code == "" || req.LegalPersonaWechat == "" || req.LegalPersonaName == "" {
		return codeFRMissingParams
	}
	n, ok := codeLengths[req.CodeType]
	if !ok {
		return codeFRInvalidCodeType
	}
	if len(req.Code) != n {
		return codeFRInvalidCode
	}
	name, known := "", false
	for _, c := range s.onboard().companies {
		if c.LegalWeChat == req.LegalPersonaWechat {
			name, known = c.LegalName, true
		}
	}
	if !known {
		return codeFRInvalidWeChat
	}
	if name != req.LegalPersonaName {
		return codeFRLegalNameWeChat
	}
	return 0
}

// Statuses of the notify_third_fasteregister push the simulator sends
// (the enterprise registration page's status table).
const (
	RegistrationOK                = 0
	RegistrationNotConfirmed      = 100003 // the legal representative did not confirm within 24 h
	RegistrationCompanyNotFound   = 102    // 企业不存在或企业信息未更新
	RegistrationLegalNameMismatch = 103    // 企业法定代表人姓名不一致
	RegistrationCompanyMismatch   = 1000   // 企业信息或法定代表人信息不一致
)

var registrationMessages = map[int]string{
	RegistrationOK:                "OK",
	RegistrationNotConfirmed:      "已下发的模板消息法人并未确认且已超时（24h）",
	RegistrationCompanyNotFound:   "工商数据返回：“企业不存在或企业信息未更新”",
	RegistrationLegalNameMismatch: "工商数据返回：“企业法定代表人姓名不一致”",
	RegistrationCompanyMismatch:   "工商数据返回：“企业信息或法定代表人信息不一致”",
}

// ConfirmEnterpriseRegistration plays the legal representative whose
// WeChat id is legalWeChat confirming (face verification) the registration
// WeChat asked them about. WeChat then checks the company in the business
// registry and pushes notify_third_fasteregister to the authorization
// event URL: on success with the new mini program's appid and an
// authorization code, else with the failing status. It returns the push's
// status and the new appid.
func (s *Sim) ConfirmEnterpriseRegistration(ctx context.Context, legalWeChat string) (int, string, error) {
	s.mu.Lock()
	o := s.onboard()
	t, ok := o.tasks[legalWeChat]
	if !ok {
		s.mu.Unlock()
		return 0, "", errors.New("no registration waits for this legal representative")
	}
	delete(o.tasks, legalWeChat)
	status := RegistrationOK
	c, found := o.companies[t.info.Code]
	switch {
	case !found:
		status = RegistrationCompanyNotFound
	case c.Name != t.info.Name:
		status = RegistrationCompanyMismatch
	case c.LegalName != t.info.LegalPersonaName || c.LegalWeChat != legalWeChat:
		status = RegistrationLegalNameMismatch
	}
	var appid, code string
	if status == RegistrationOK {
		// Registered by an enterprise's own documents: not certified yet
		// (accounts registered since 2023-12-25 start uncertified).
		appid, code = s.newMiniProgramLocked(c.Name, -1)
	}
	s.mu.Unlock()
	return status, appid, s.pushRegistration(ctx, t.info, status, appid, code)
}

// RefuseEnterpriseRegistration plays the legal representative declining
// (or ignoring) WeChat's request. The status table has no separate
// refusal: WeChat reports the request as not confirmed (100003).
func (s *Sim) RefuseEnterpriseRegistration(ctx context.Context, legalWeChat string) error {
	s.mu.Lock()
	o := s.onboard()
	t, ok := o.tasks[legalWeChat]
	delete(o.tasks, legalWeChat)
	s.mu.Unlock()
	if !ok {
		return errors.New("no registration waits for this legal representative")
	}
	return s.pushRegistration(ctx, t.info, RegistrationNotConfirmed, "", "")
}

// registrationPush is notify_third_fasteregister's inner XML.
type registrationPush struct {
	XMLName    xml.Name         `xml:"xml"`
	AppID      string           `xml:"AppId"`
	CreateTime int64            `xml:"CreateTime"`
	InfoType   string           `xml:"InfoType"`
	NewAppID   string           `xml:"appid,omitempty"`
	Status     int              `xml:"status"`
	AuthCode   string           `xml:"auth_code,omitempty"`
	Msg        string           `xml:"msg"`
	Info       registrationInfo `xml:"info"`
}

// pushRegistration pushes a registration's outcome to the push URL.
func (s *Sim) pushRegistration(ctx context.Context, info registrationInfo, status int, appid, code string) error {
	s.mu.Lock()
	push := s.pushURL
	s.mu.Unlock()
	if push == "" {
		return errors.New("no push URL configured")
	}
	inner, err := xml.Marshal(registrationPush{AppID: s.opts.ComponentAppID, CreateTime: s.opts.Now().Unix(),
		InfoType: "notify_third_fasteregister", NewAppID: appid, Status: status, AuthCode: code, Msg: registrationMessages[status], Info: info})
	if err != nil {
		return err
	}
	return s.Push(ctx, push, "AppId", s.opts.ComponentAppID, inner)
}

// PendingRegistration reports whether a registration waits for the legal
// representative whose WeChat id is legalWeChat.
func (s *Sim) PendingRegistration(legalWeChat string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.onboard().tasks[legalWeChat]
	return ok
}

// personHash is a stable identifier of person within scope (an app or an
// open account).
func personHash(scope, person string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + person))
	return hex.EncodeToString(sum[:])[:27]
}

// OpenIDOf is person's openid in the app appid: stable, and different in
// every app, as WeChat issues them.
func (s *Sim) OpenIDOf(appid, person string) string { return "o" + personHash(appid, person) }

// UnionIDOf is person's unionid as the app appid sees it: the same in
// every app bound to one open account, and none for an app bound to none.
func (s *Sim) UnionIDOf(appid, person string) string {
	s.mu.Lock()
	open := s.onboard().openOf[appid]
	s.mu.Unlock()
	if open == "" {
		return ""
	}
	return "u" + personHash(open, person)
}

// PersonJSCode is what wx.login returns to person inside the mini program
// appid: a code whose session carries the person's openid in that app and
// the unionid of its open account, if any.
func (s *Sim) PersonJSCode(appid, person string) string {
	return s.IssueJSCode(appid, s.OpenIDOf(appid, person), s.UnionIDOf(appid, person))
}

// onboardConsole registers the console's parts for onboarding: the
// registry, the confirmation page, the legal representative and a person
// logging in.
func (s *Sim) onboardConsole() {
	s.mux.HandleFunc("POST /sim/companies", consoleJSON(func(_ *http.Request, in *struct {
		Name        string `json:"name"`
		Code        string `json:"code"`
		LegalName   string `json:"legal_persona_name"`
		LegalWeChat string `json:"legal_persona_wechat"`
	}) (any, error) {
		if in.Code == "" || in.LegalWeChat == "" {
			return nil, errors.New("code and legal_persona_wechat are required")
		}
		s.AddCompany(Company{Name: in.Name, Code: in.Code, LegalName: in.LegalName, LegalWeChat: in.LegalWeChat})
		return map[string]any{fieldCode: in.Code}, nil
	}))
	s.mux.HandleFunc("POST /sim/fast-register/confirm-page", consoleJSON(func(_ *http.Request, in *struct {
		AuthURL string `json:"auth_url"`
	}) (any, error) {
		redirect, err := s.ConfirmFastRegisterPage(in.AuthURL)
		return map[string]any{"redirect_url": redirect}, err
	}))
	s.mux.HandleFunc("POST /sim/fast-register/legal-representative", consoleJSON(func(r *http.Request, in *struct {
		LegalWeChat string `json:"legal_persona_wechat"`
		Confirm     bool   `json:"confirm"`
	}) (any, error) {
		if !in.Confirm {
			return map[string]any{fieldStatus: RegistrationNotConfirmed, fieldPushed: true},
				s.RefuseEnterpriseRegistration(r.Context(), in.LegalWeChat)
		}
		status, appid, err := s.ConfirmEnterpriseRegistration(r.Context(), in.LegalWeChat)
		return map[string]any{fieldStatus: status, fieldAppID: appid, fieldPushed: err == nil}, err
	}))
	s.mux.HandleFunc("POST /sim/person-code", consoleJSON(func(_ *http.Request, in *struct {
		AppID  string `json:"appid"`
		Person string `json:"person"`
	}) (any, error) {
		if in.AppID == "" || in.Person == "" {
			return nil, errors.New("appid and person are required")
		}
		return map[string]any{fieldCode: s.PersonJSCode(in.AppID, in.Person), "unionid": s.UnionIDOf(in.AppID, in.Person)}, nil
	}))
}
