package wechatsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AuditOutcome scripts how WeChat's review of an appid's next submission
// ends: Status 0 approved, 1 rejected (Reason), 4 delayed.
type AuditOutcome struct {
	Status int
	Reason string
}

// Template is a code template of the platform's library.
type Template struct {
	ID      int64
	Version string
	Desc    string
}

type codeState struct {
	committed     bool
	templateID    int64
	version       string
	extJSON       string
	scanDoneAt    time.Time
	auditID       int64
	auditStatus   int // 2 under review, 0 approved, 1 rejected, 3 withdrawn, 4 delayed; -1 none
	auditReason   string
	auditVersion  string
	submittedAt   time.Time
	released      string
	previous      string
	outcome       *AuditOutcome
	submitsInWeek int
}

type codeMgmt struct {
	mu         sync.Mutex
	templates  []Template
	state      map[string]*codeState
	scanDelay  time.Duration
	messageURL string
	nextAudit  int64
	prepared   map[string]*prepState
}

func newCodeMgmt() *codeMgmt {
	return &codeMgmt{state: map[string]*codeState{}, scanDelay: 2 * time.Minute, nextAudit: 400000}
}

// code is the code-management state; it has its own lock, always taken
// after the simulator's.
func (s *Sim) code() *codeMgmt { return s.codes }

// AddTemplate adds a code template to the platform's library.
func (s *Sim) AddTemplate(t Template) {
	c := s.code()
	c.mu.Lock()
	c.templates = append(c.templates, t)
	c.mu.Unlock()
}

// SetPrivacyScanDelay sets how long after a commit submit_audit answers 61039.
func (s *Sim) SetPrivacyScanDelay(d time.Duration) {
	c := s.code()
	c.mu.Lock()
	c.scanDelay = d
	c.mu.Unlock()
}

// SetMessageURL is the message and event URL with the $APPID$ placeholder.
func (s *Sim) SetMessageURL(u string) {
	c := s.code()
	c.mu.Lock()
	c.messageURL = u
	c.mu.Unlock()
}

// ScriptAudit sets the outcome of appid's next review.
func (s *Sim) ScriptAudit(appid string, o AuditOutcome) {
	c := s.code()
	c.mu.Lock()
	c.st(appid).outcome = &o
	c.mu.Unlock()
}

func (c *codeMgmt) st(appid string) *codeState {
	st, ok := c.state[appid]
	if !ok {
		st = &codeState{auditStatus: -1}
		c.state[appid] = st
	}
	return st
}

// ReleasedVersion is appid's live version ("" before the first release).
func (s *Sim) ReleasedVersion(appid string) string {
	c := s.code()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st(appid).released
}

// FinishAudit ends appid's pending review with its scripted outcome
// (approved by default) and, when push is set, pushes the audit event to
// the message URL as WeChat does.
func (s *Sim) FinishAudit(ctx context.Context, appid string, push bool) error {
	c := s.code()
	c.mu.Lock()
	st := c.st(appid)
	if st.auditStatus != 2 && st.auditStatus != 4 {
		c.mu.Unlock()
		return fmt.Errorf("no review pending for %s", appid)
	}
	o := AuditOutcome{Status: 0}
	if st.outcome != nil {
		o = *st.outcome
		st.outcome = nil
	}
	st.auditStatus, st.auditReason = o.Status, o.Reason
	msgURL := c.messageURL
	c.mu.Unlock()
	if !push || msgURL == "" {
		return nil
	}
	s.mu.Lock()
	a := s.authorizers[appid]
	s.mu.Unlock()
	now := s.opts.Now().Unix()
	var inner string
	switch o.Status {
	case 0:
		inner = fmt.Sprintf("<Event><![CDATA[weapp_audit_success]]></Event><SuccTime>%d</SuccTime>", now)
	case 1:
		inner = fmt.Sprintf("<Event><![CDATA[weapp_audit_fail]]></Event><Reason><![CDATA[%s]]></Reason><FailTime>%d</FailTime>"+
			"<ScreenShot><![CDATA[media1|media2]]></ScreenShot>", o.Reason, now)
	default:
		inner = fmt.Sprintf("<Event><![CDATA[weapp_audit_delay]]></Event><Reason><![CDATA[%s]]></Reason><DelayTime>%d</DelayTime>", o.Reason, now)
	}
	xml := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[o_system]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType>%s</xml>", a.UserName, now, inner)
	return s.Push(ctx, strings.ReplaceAll(msgURL, "$APPID$", appid), "ToUserName", a.UserName, []byte(xml))
}

// authorizerOf resolves a request's authorizer access token.
func (s *Sim) authorizerOf(r *http.Request) (*Authorizer, int) {
	tok := r.URL.Query().Get("access_token")
	now := s.opts.Now()
	code := 40001
	for _, a := range s.authorizers {
		switch a.tokens.check(tok, now) {
		case 0:
			if !a.authorized {
				return nil, 61003
			}
			return a, 0
		case 42001:
			code = 42001
		}
	}
	if tok == "" {
		return nil, 41001
	}
	return nil, code
}

// withCode runs an API of an authorizer's code management with the
// authorizer resolved from its access token and its state locked.
func (s *Sim) withCode(fn func(a *Authorizer, cm *codeMgmt, st *codeState, body []byte) (any, int)) apiFunc {
	return func(r *http.Request, body []byte) (any, int) {
		a, code := s.authorizerOf(r)
		if code != 0 {
			return nil, code
		}
		cm := s.code()
		cm.mu.Lock()
		defer cm.mu.Unlock()
		return fn(a, cm, cm.st(a.AppID), body)
	}
}

// withState runs an API of an authorizer's code management that needs only
// its code state.
func (s *Sim) withState(fn func(st *codeState, body []byte) (any, int)) apiFunc {
	return s.withCode(func(_ *Authorizer, _ *codeMgmt, st *codeState, body []byte) (any, int) { return fn(st, body) })
}

// codeRoutes registers code management: the template library, commit,
// review, release and the mini program codes.
func (s *Sim) codeRoutes() {
	withCode, withState := s.withCode, s.withState
	s.handle("GET", "/wxa/gettemplatelist", "gettemplatelist", s.templateList)
	s.handle("POST", "/wxa/commit", "commit", withCode(s.commit))
	s.handle("POST", "/wxa/submit_audit", "submit_audit", withCode(func(a *Authorizer, cm *codeMgmt, st *codeState, body []byte) (any, int) {
		switch {
		case !st.committed:
			return nil, 85086
		case st.auditStatus == 2 || st.auditStatus == 4:
			return nil, 85009
		case a.Name == "" || a.HeadImg == "" || a.Signature == "":
			return nil, 86002
		case s.opts.Now().Before(st.scanDoneAt):
			return nil, 61039
		case !strings.Contains(st.extJSON, "getLocation"):
			return nil, 61040
		case st.submitsInWeek >= 20:
			return nil, 85085
		}
		st.submitsInWeek++
		cm.nextAudit++
		st.auditID, st.auditStatus, st.auditReason, st.auditVersion, st.submittedAt = cm.nextAudit, 2, "", st.version, s.opts.Now()
		return okReply(map[string]any{"auditid": st.auditID}), 0
	}))
	s.handle("GET", "/wxa/get_latest_auditstatus", "get_latest_auditstatus", withState(func(st *codeState, _ []byte) (any, int) {
		if st.auditID == 0 {
			return nil, 85012
		}
		return okReply(map[string]any{"auditid": st.auditID, "status": st.auditStatus, "reason": st.auditReason,
			"ScreenShot": "", "user_version": st.auditVersion, "submit_audit_time": st.submittedAt.Unix()}), 0
	}))
	s.handle("POST", "/wxa/release", "release", withState(func(st *codeState, body []byte) (any, int) {
		if strings.TrimSpace(string(body)) == "" {
			return nil, 44002
		}
		switch st.auditStatus {
		case 0:
		case 2, 4:
			return nil, 85020
		default:
			return nil, 85019
		}
		st.previous, st.released = st.released, st.auditVersion
		st.auditStatus = -1
		return okReply(nil), 0
	}))
	s.handle("GET", "/wxa/undocodeaudit", "undocodeaudit", withState(func(st *codeState, _ []byte) (any, int) {
		if st.auditStatus != 2 && st.auditStatus != 4 {
			return nil, 87013
		}
		st.auditStatus = 3
		return okReply(nil), 0
	}))
	s.handle("GET", "/wxa/revertcoderelease", "revertcoderelease", withState(func(st *codeState, _ []byte) (any, int) {
		if st.previous == "" {
			return nil, 87011
		}
		st.released, st.previous = st.previous, ""
		return okReply(nil), 0
	}))
	s.handle("GET", "/wxa/get_qrcode", "get_qrcode", func(r *http.Request, _ []byte) (any, int) { return s.qrcode(r) })
	s.handle("POST", "/wxa/getwxacodeunlimit", "getwxacodeunlimit", s.unlimitedQRCode)
}

// commit is /wxa/commit: a template of the library with the authorizer's
// ext.json, which starts WeChat's privacy scan of the code.
func (s *Sim) commit(_ *Authorizer, cm *codeMgmt, st *codeState, body []byte) (any, int) {
	var req struct {
		TemplateID  int64  `json:"template_id"`
		ExtJSON     string `json:"ext_json"`
		UserVersion string `json:"user_version"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if !cm.hasTemplate(req.TemplateID) {
		return nil, 85014
	}
	var ext map[string]any
	if json.Unmarshal([]byte(req.ExtJSON), &ext) != nil {
		return nil, 85048
	}
	st.committed, st.templateID, st.version, st.extJSON = true, req.TemplateID, req.UserVersion, req.ExtJSON
	st.scanDoneAt = s.opts.Now().Add(cm.scanDelay)
	return okReply(nil), 0
}

// hasTemplate reports whether the template library holds id.
func (c *codeMgmt) hasTemplate(id int64) bool {
	for _, t := range c.templates {
		if t.ID == id {
			return true
		}
	}
	return false
}

// templateList is gettemplatelist, called with the component token.
func (s *Sim) templateList(r *http.Request, _ []byte) (any, int) {
	if c := s.compTokens.check(r.URL.Query().Get("access_token"), s.opts.Now()); c != 0 {
		return nil, c
	}
	cm := s.code()
	cm.mu.Lock()
	defer cm.mu.Unlock()
	list := []map[string]any{}
	for _, t := range cm.templates {
		list = append(list, map[string]any{
			"template_id": t.ID, "user_version": t.Version, "user_desc": t.Desc, "create_time": 1700000000, "template_type": 0,
		})
	}
	return okReply(map[string]any{"template_list": list}), 0
}

// qrcode answers a mini program code for a public app's or an authorizer's
// token: a tiny valid PNG header is enough for clients to tell an image.
func (s *Sim) qrcode(r *http.Request) (any, int) {
	if s.validPublicToken(r.URL.Query().Get("access_token")) {
		return binaryReply{contentType: "image/png", data: []byte("\x89PNG\r\n\x1a\nsimulated-qr-public")}, 0
	}
	if _, code := s.authorizerOf(r); code != 0 {
		return nil, code
	}
	return binaryReply{contentType: "image/png", data: []byte("\x89PNG\r\n\x1a\nsimulated-qr")}, 0
}

// unlimitedQRCode is getwxacodeunlimit: a code for a scene, which for an
// authorizer's release version needs a released mini program.
func (s *Sim) unlimitedQRCode(r *http.Request, body []byte) (any, int) {
	var req struct {
		Scene      string `json:"scene"`
		EnvVersion string `json:"env_version"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if req.Scene == "" || len(req.Scene) > 32 {
		return nil, 40129
	}
	if a, code := s.authorizerOf(r); code == 0 && (req.EnvVersion == "" || req.EnvVersion == "release") {
		cm := s.code()
		cm.mu.Lock()
		released := cm.st(a.AppID).released
		cm.mu.Unlock()
		if released == "" {
			return nil, 41030
		}
	}
	return s.qrcode(r)
}
