package wechatsim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
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
	// ScreenShot is a rejection's screenshots: media_ids joined by |
	// (rejectionScreenshots when empty), served by get_material.
	ScreenShot string
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
	screenshot    string // rejection screenshots: media_ids joined by |
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

// rejectionScreenshots are the media_ids of the screenshots a rejection
// carries, in the push (ScreenShot) and in the audit status APIs
// (screenshot).
const rejectionScreenshots = "media1|media2"

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
	st.auditStatus, st.auditReason, st.screenshot = o.Status, o.Reason, ""
	if o.Status == 1 {
		st.screenshot = cmp.Or(o.ScreenShot, rejectionScreenshots)
	}
	shots := st.screenshot
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
			"<ScreenShot><![CDATA[%s]]></ScreenShot>", o.Reason, now, shots)
	default:
		inner = fmt.Sprintf("<Event><![CDATA[weapp_audit_delay]]></Event><Reason><![CDATA[%s]]></Reason><DelayTime>%d</DelayTime>", o.Reason, now)
	}
	xml := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[o_system]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType>%s</xml>", a.UserName, now, inner)
	return s.Push(ctx, strings.ReplaceAll(msgURL, "$APPID$", appid), "ToUserName", a.UserName, []byte(xml))
}

// authorizerOf resolves a request's authorizer access token.
// It is read from access_token only: a token under component_access_token
// is no token (41001).
func (s *Sim) authorizerOf(r *http.Request) (*Authorizer, int) {
	tok := r.URL.Query().Get(paramAccessToken)
	if tok == "" {
		return nil, codeTokenMissing
	}
	now := s.opts.Now()
	code := codeInvalidCredential
	for _, a := range s.authorizers {
		switch a.tokens.check(tok, now) {
		case 0:
			if !a.authorized {
				return nil, codeNotAuthorized
			}
			return a, 0
		case codeTokenExpired:
			code = codeTokenExpired
		}
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
	s.handle("POST", "/wxa/submit_audit", "submit_audit", withCode(s.submitAudit))
	s.handle("GET", "/wxa/get_latest_auditstatus", "get_latest_auditstatus", withState(latestAuditStatus))
	s.handle("POST", "/wxa/get_auditstatus", "get_auditstatus", withState(auditStatus))
	s.handle("POST", "/wxa/release", "release", withState(release))
	s.handle("GET", "/wxa/undocodeaudit", "undocodeaudit", withState(func(st *codeState, _ []byte) (any, int) {
		if st.auditStatus != 2 && st.auditStatus != 4 {
			return nil, codeUndoQuota
		}
		st.auditStatus = 3
		return okReply(nil), 0
	}))
	// revertcoderelease: nothing to roll back to (no previous release, or
	// already rolled back once) is 87012; 87011 is a gray release
	// (api_revertcoderelease's error table).
	s.handle("GET", "/wxa/revertcoderelease", "revertcoderelease", withState(func(st *codeState, _ []byte) (any, int) {
		if st.previous == "" {
			return nil, codeCannotRevert
		}
		st.released, st.previous = st.previous, ""
		return okReply(nil), 0
	}))
	s.handle("GET", "/wxa/get_qrcode", "get_qrcode", func(r *http.Request, _ []byte) (any, int) { return s.qrcode(r) })
	s.handle("POST", "/wxa/getwxacodeunlimit", "getwxacodeunlimit", s.unlimitedQRCode)
}

// submitAudit is /wxa/submit_audit; every field of its JSON body is
// optional, but a body there must be.
func (s *Sim) submitAudit(a *Authorizer, cm *codeMgmt, st *codeState, body []byte) (any, int) {
	var req map[string]any
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	switch {
	case !st.committed:
		return nil, codeMustCommitFirst
	case st.auditStatus == 2 || st.auditStatus == 4:
		return nil, codeAuditPending
	case a.Name == "" || a.HeadImg == "" || a.Signature == "":
		return nil, codeBasicInfoMissing
	case s.opts.Now().Before(st.scanDoneAt):
		return nil, codePrivacyScanPending
	case !strings.Contains(st.extJSON, "getLocation"):
		return nil, codePrivacyUndeclared
	case st.submitsInWeek >= 20:
		return nil, codeAuditQuota
	}
	st.submitsInWeek++
	cm.nextAudit++
	st.auditID, st.auditStatus, st.auditReason, st.screenshot = cm.nextAudit, 2, "", ""
	st.auditVersion, st.submittedAt = st.version, s.opts.Now()
	return okReply(map[string]any{"auditid": st.auditID}), 0
}

// latestAuditStatus is /wxa/get_latest_auditstatus. The screenshots are
// under "screenshot", as the current page's parameter table and WxJava's
// WxOpenMaQueryAuditResult name it; the page's example (and the 2.0 page)
// spell it "ScreenShot", which only the push still uses.
// https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_getlatestauditstatus.html
func latestAuditStatus(st *codeState, _ []byte) (any, int) {
	if st.auditID == 0 {
		return nil, codeInvalidAuditID
	}
	reply := auditFields(st)
	reply["auditid"], reply["user_version"], reply["submit_audit_time"] = st.auditID, st.auditVersion, st.submittedAt.Unix()
	return okReply(reply), 0
}

// auditFields are what both audit status APIs answer about a review.
func auditFields(st *codeState) map[string]any {
	return map[string]any{"status": st.auditStatus, "reason": st.auditReason, "screenshot": st.screenshot}
}

// auditStatus is /wxa/get_auditstatus for one auditid (required; another
// than the latest is 85012 here, which keeps only the latest).
// https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_getauditstatus.html
func auditStatus(st *codeState, body []byte) (any, int) {
	var req struct {
		AuditID int64 `json:"auditid"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if req.AuditID == 0 || req.AuditID != st.auditID {
		return nil, codeInvalidAuditID
	}
	return okReply(auditFields(st)), 0
}

// release is /wxa/release; its body must be {} (an empty one is 44002).
func release(st *codeState, body []byte) (any, int) {
	var req map[string]any
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	switch st.auditStatus {
	case 0:
	case 2, 4:
		return nil, codeNotReleasable
	default:
		return nil, codeNoAuditVersion
	}
	st.previous, st.released = st.released, st.auditVersion
	st.auditStatus = -1
	return okReply(nil), 0
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
		return nil, codeTemplateMissing
	}
	var ext map[string]any
	if json.Unmarshal([]byte(req.ExtJSON), &ext) != nil {
		return nil, codeExtJSONParse
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

// templateList is gettemplatelist, called with the component token under
// access_token (the template library's pages name no other parameter).
func (s *Sim) templateList(r *http.Request, _ []byte) (any, int) {
	if c := s.checkComponentToken(r.URL.Query().Get(paramAccessToken)); c != 0 {
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

// qrJPEG is the image every mini program code is: WeChat answers these
// APIs with Content-Type image/jpeg and JPEG bytes (WxJava saves them as
// .jpg), and a JSON error otherwise.
var qrJPEG = sync.OnceValue(func() []byte {
	const side, module = 64, 8
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			if (x/module+y/module)%2 == 0 {
				img.SetGray(x, y, color.Gray{Y: 0})
			} else {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
})

// qrcode answers a mini program code for a public app's or an authorizer's
// token.
func (s *Sim) qrcode(r *http.Request) (any, int) {
	if !s.validPublicToken(r.URL.Query().Get(paramAccessToken)) {
		if _, code := s.authorizerOf(r); code != 0 {
			return nil, code
		}
	}
	return binaryReply{contentType: "image/jpeg", data: qrJPEG()}, 0
}

// unlimitedQRCode is getwxacodeunlimit: a code for a scene (required, at
// most 32 characters) and a page without a leading slash or a query
// (41030 "invalid page"), which for an authorizer's release version needs
// a released mini program.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/qrcode-link/qr-code/api_getunlimitedqrcode.html
func (s *Sim) unlimitedQRCode(r *http.Request, body []byte) (any, int) {
	a, code := s.authorizerOf(r)
	if code != 0 && !s.validPublicToken(r.URL.Query().Get(paramAccessToken)) {
		return nil, code
	}
	var req struct {
		Scene      string `json:"scene"`
		Page       string `json:"page"`
		EnvVersion string `json:"env_version"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if req.Scene == "" || len(req.Scene) > 32 {
		return nil, codeInvalidScene
	}
	if strings.HasPrefix(req.Page, "/") || strings.Contains(req.Page, "?") {
		return nil, codeInvalidPage
	}
	if a != nil && (req.EnvVersion == "" || req.EnvVersion == "release") {
		cm := s.code()
		cm.mu.Lock()
		released := cm.st(a.AppID).released
		cm.mu.Unlock()
		if released == "" {
			return nil, codeInvalidPage
		}
	}
	return binaryReply{contentType: "image/jpeg", data: qrJPEG()}, 0
}
