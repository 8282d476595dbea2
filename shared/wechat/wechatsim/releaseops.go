package wechatsim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Release operations: trial testers (bind_tester, unbind_tester,
// memberauth), the platform's review quota and speed-up (queryquota,
// speedupaudit), and the permanent material behind a rejection's
// screenshots (get_material). WeChat's users, the quota WeChat grants and
// the screenshots its reviewers take are WeChat's side: the Go methods and
// the console below script them.
//   - testers: https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/member-management/api_bindtester.html
//     (api_unbindtester.html, api_gettester.html beside it);
//   - quota: https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_setcodeauditquota
//   - speed-up: https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/code/speedup_audit.html
//   - material: https://developers.weixin.qq.com/doc/service/api/material/permanent/api_getmaterial (permission set 18 included)

// The error codes of the release operations, each answered with its own
// errmsg: bind_tester's table gives English texts, speedupaudit's only
// Chinese ones, which are kept as the table words them.
const (
	codeInvalidMediaID     = 40007
	codeTesterNotFound     = 85001
	codeTesterLimit        = 85002
	codeTesterOfTooMany    = 85003
	codeAlreadyTester      = 85004
	codeSpeedUpUnstable    = 89401
	codeSpeedUpNotQueued   = 89402
	codeSpeedUpUnsupported = 89403
	codeSpeedUpAlreadyDone = 89404
	codeSpeedUpQuotaUsed   = 89405
)

// Defaults of what WeChat grants: testers of a non-individual mini program
// (WeChat's help for the admin console says 90; unconfirmed for the API),
// and the platform's monthly submissions. Speed-ups default to none, as
// most platforms start.
const (
	defaultTesterLimit      = 90
	defaultReviewQuotaLimit = 100
)

var releaseOpsErrMessages = map[int]string{
	codeInvalidMediaID:     "invalid media_id",
	codeTesterNotFound:     "user not exist or user cannot be searched",
	codeTesterLimit:        "number of tester reach bind limit",
	codeTesterOfTooMany:    "user already bind too many weapps",
	codeAlreadyTester:      "user already bind",
	codeSpeedUpUnstable:    "系统不稳定，请稍后再试，如多次失败请通过社区反馈",
	codeSpeedUpNotQueued:   "该审核单不在待审核队列，请检查是否已提交审核或已审完",
	codeSpeedUpUnsupported: "本单属于平台不支持加急种类，请等待正常审核流程",
	codeSpeedUpAlreadyDone: "本单已加速成功，请勿重复提交",
	codeSpeedUpQuotaUsed:   "本月加急额度不足，请提升提审质量以获取更多额度",
}

// releaseOpsErr answers WeChat's error reply for a release-operation code.
func releaseOpsErr(code int) (any, int) {
	return errorReply{ErrCode: code, ErrMsg: releaseOpsErrMessages[code] + " rid: " + randomHex(8)}, 0
}

// WeChatUser is a WeChat user an admin may name as a tester by WeChat ID.
type WeChatUser struct {
	WeChatID string
	// Unsearchable: the user turned off being found by WeChat ID (85001,
	// like an ID nobody has).
	Unsearchable bool
	// TesterOfTooMany: the user is a tester of as many mini programs as
	// WeChat allows (85003).
	TesterOfTooMany bool
}

// ReviewQuota is the platform's monthly quota as WeChat grants it; what
// is left is counted from the submissions and speed-ups made.
type ReviewQuota struct {
	Limit, SpeedUpLimit int
}

// Media is a permanent material: a screenshot's image, or anything a test
// wants get_material to answer.
type Media struct {
	ContentType string
	Data        []byte
}

// releaseOps is the simulator's state of the release operations. Its lock
// is taken after the simulator's and the code state's.
type releaseOps struct {
	mu          sync.Mutex
	users       map[string]WeChatUser
	testers     map[string][]tester // appid → testers in binding order
	testerLimit int
	quota       ReviewQuota
	speedUps    int
	spedUp      map[int64]bool              // audit ids sped up
	media       map[string]map[string]Media // appid → media_id → material
}

type tester struct{ userStr, wechatID string }

func newReleaseOps() *releaseOps {
	return &releaseOps{users: map[string]WeChatUser{}, testers: map[string][]tester{},
		testerLimit: defaultTesterLimit, quota: ReviewQuota{Limit: defaultReviewQuotaLimit}, spedUp: map[int64]bool{},
		media: map[string]map[string]Media{}}
}

func (s *Sim) ops() *releaseOps { return s.releaseOps }

// releaseOpsRoutes serves the release operations an admin reaches for:
// trial testers, the review quota and speed-up, and the audit's
// screenshots.
func (s *Sim) releaseOpsRoutes() {
	ops := s.ops()
	s.handle("POST", "/wxa/bind_tester", "bind_tester", s.withCode(ops.bindTester))
	s.handle("POST", "/wxa/unbind_tester", "unbind_tester", s.withCode(ops.unbindTester))
	s.handle("POST", "/wxa/memberauth", "memberauth", s.withCode(ops.memberAuth))
	s.handle("GET", "/wxa/queryquota", "queryquota", s.withCode(ops.queryQuota))
	s.handle("POST", "/wxa/speedupaudit", "speedupaudit", s.withCode(ops.speedUpAudit))
	s.handle("POST", "/cgi-bin/material/get_material", "get_material", s.withCode(ops.material))
	s.releaseOpsConsole()
}

// AddWeChatUser makes a WeChat user known by WeChat ID.
func (s *Sim) AddWeChatUser(u WeChatUser) {
	ops := s.ops()
	ops.mu.Lock()
	ops.users[u.WeChatID] = u
	ops.mu.Unlock()
}

// SetTesterLimit sets how many testers a mini program may have (85002
// beyond).
func (s *Sim) SetTesterLimit(n int) {
	ops := s.ops()
	ops.mu.Lock()
	ops.testerLimit = n
	ops.mu.Unlock()
}

// Testers lists the WeChat IDs of appid's testers, in binding order.
func (s *Sim) Testers(appid string) []string {
	ops := s.ops()
	ops.mu.Lock()
	defer ops.mu.Unlock()
	ids := []string{}
	for _, t := range ops.testers[appid] {
		ids = append(ids, t.wechatID)
	}
	return ids
}

// SetReviewQuota sets the quota WeChat grants the platform this month.
func (s *Sim) SetReviewQuota(q ReviewQuota) {
	ops := s.ops()
	ops.mu.Lock()
	ops.quota = q
	ops.mu.Unlock()
}

// SpedUp reports whether the review auditID was sped up.
func (s *Sim) SpedUp(auditID int64) bool {
	ops := s.ops()
	ops.mu.Lock()
	defer ops.mu.Unlock()
	return ops.spedUp[auditID]
}

// AddMedia stores a permanent material of appid under mediaID, as a
// reviewer's screenshot (name it in AuditOutcome.ScreenShot).
func (s *Sim) AddMedia(appid, mediaID string, m Media) {
	ops := s.ops()
	ops.mu.Lock()
	if ops.media[appid] == nil {
		ops.media[appid] = map[string]Media{}
	}
	ops.media[appid][mediaID] = m
	ops.mu.Unlock()
}

// screenshotContentType is the type of the default screenshots.
const screenshotContentType = "image/jpeg"

// ScreenshotImage is the image get_material answers for a default
// screenshot of a rejection: a JPEG of the media id's own shade.
func ScreenshotImage(mediaID string) []byte {
	sum := sha256.Sum256([]byte(mediaID))
	img := image.NewGray(image.Rect(0, 0, 36, 64))
	for y := range 64 {
		for x := range 36 {
			img.SetGray(x, y, color.Gray{Y: sum[(x/6+y/8)%len(sum)]})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}

// bindTester is /wxa/bind_tester {"wechatid"} → {"userstr"}.
func (o *releaseOps) bindTester(a *Authorizer, _ *codeMgmt, _ *codeState, body []byte) (any, int) {
	var req struct {
		WeChatID string `json:"wechatid"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	u, ok := o.users[req.WeChatID]
	switch {
	case !ok || u.Unsearchable:
		return releaseOpsErr(codeTesterNotFound)
	case slices.ContainsFunc(o.testers[a.AppID], func(t tester) bool { return t.wechatID == req.WeChatID }):
		return releaseOpsErr(codeAlreadyTester)
	case len(o.testers[a.AppID]) >= o.testerLimit:
		return releaseOpsErr(codeTesterLimit)
	case u.TesterOfTooMany:
		return releaseOpsErr(codeTesterOfTooMany)
	}
	t := tester{userStr: randomHex(16), wechatID: req.WeChatID}
	o.testers[a.AppID] = append(o.testers[a.AppID], t)
	return okReply(map[string]any{"userstr": t.userStr}), 0
}

// unbindTester is /wxa/unbind_tester with userstr or wechatid. Its page
// lists no refusal for one who is not a tester: the simulator answers ok.
func (o *releaseOps) unbindTester(a *Authorizer, _ *codeMgmt, _ *codeState, body []byte) (any, int) {
	var req struct {
		UserStr  string `json:"userstr"`
		WeChatID string `json:"wechatid"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if req.UserStr == "" && req.WeChatID == "" {
		return nil, codeDataFormat
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.testers[a.AppID] = slices.DeleteFunc(o.testers[a.AppID], func(t tester) bool {
		return (req.UserStr != "" && t.userStr == req.UserStr) || (req.WeChatID != "" && t.wechatID == req.WeChatID)
	})
	return okReply(nil), 0
}

// memberAuth is /wxa/memberauth {"action":"get_experiencer"} →
// {"members":[{"userstr"}]}.
func (o *releaseOps) memberAuth(a *Authorizer, _ *codeMgmt, _ *codeState, body []byte) (any, int) {
	var req struct {
		Action string `json:"action"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	if req.Action != "get_experiencer" {
		return nil, codeDataFormat
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	members := []map[string]string{}
	for _, t := range o.testers[a.AppID] {
		members = append(members, map[string]string{"userstr": t.userStr})
	}
	return okReply(map[string]any{"members": members}), 0
}

// queryQuota is /wxa/queryquota: the platform's quota, whichever
// authorizer's token asks. Submissions are counted over every mini
// program's code state.
func (o *releaseOps) queryQuota(_ *Authorizer, cm *codeMgmt, _ *codeState, _ []byte) (any, int) {
	submitted := 0
	for _, st := range cm.state {
		submitted += st.submitsInWeek
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return struct {
		ErrCode      int `json:"errcode"`
		Rest         int `json:"rest"`
		Limit        int `json:"limit"`
		SpeedUpRest  int `json:"speedup_rest"`
		SpeedUpLimit int `json:"speedup_limit"`
	}{0, max(0, o.quota.Limit-submitted), o.quota.Limit, max(0, o.quota.SpeedUpLimit-o.speedUps), o.quota.SpeedUpLimit}, 0
}

// speedUpAudit is /wxa/speedupaudit {"auditid"}: only the mini program's
// pending review, once, within the month's speed-ups.
func (o *releaseOps) speedUpAudit(_ *Authorizer, _ *codeMgmt, st *codeState, body []byte) (any, int) {
	var req struct {
		AuditID int64 `json:"auditid"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case req.AuditID == 0 || req.AuditID != st.auditID || (st.auditStatus != 2 && st.auditStatus != 4):
		return releaseOpsErr(codeSpeedUpNotQueued)
	case o.spedUp[req.AuditID]:
		return releaseOpsErr(codeSpeedUpAlreadyDone)
	case o.speedUps >= o.quota.SpeedUpLimit:
		return releaseOpsErr(codeSpeedUpQuotaUsed)
	}
	o.speedUps++
	o.spedUp[req.AuditID] = true
	return okReply(nil), 0
}

// material is /cgi-bin/material/get_material {"media_id"}: the bytes of a
// material the authorizer has (AddMedia), or of a default screenshot
// (rejectionScreenshots) of its latest rejection; anything else is 40007,
// as for a material WeChat no longer has.
func (o *releaseOps) material(a *Authorizer, _ *codeMgmt, st *codeState, body []byte) (any, int) {
	var req struct {
		MediaID string `json:"media_id"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	o.mu.Lock()
	m, ok := o.media[a.AppID][req.MediaID]
	o.mu.Unlock()
	if ok {
		return binaryReply{contentType: m.ContentType, data: m.Data}, 0
	}
	latest, defaults := strings.Split(st.screenshot, "|"), strings.Split(rejectionScreenshots, "|")
	if slices.Contains(latest, req.MediaID) && slices.Contains(defaults, req.MediaID) {
		return binaryReply{contentType: screenshotContentType, data: ScreenshotImage(req.MediaID)}, 0
	}
	return releaseOpsErr(codeInvalidMediaID)
}

// releaseOpsConsole adds the console's parts of WeChat's side here: the
// users an admin may name as testers, and the quota WeChat grants.
func (s *Sim) releaseOpsConsole() {
	s.mux.HandleFunc("POST /sim/wechat-users", consoleJSON(func(_ *http.Request, in *struct {
		WeChatID        string `json:"wechatid"`
		Unsearchable    bool   `json:"unsearchable"`
		TesterOfTooMany bool   `json:"tester_of_too_many"`
	}) (any, error) {
		if in.WeChatID == "" {
			return nil, errWeChatIDRequired
		}
		s.AddWeChatUser(WeChatUser{WeChatID: in.WeChatID, Unsearchable: in.Unsearchable, TesterOfTooMany: in.TesterOfTooMany})
		return map[string]any{"wechatid": in.WeChatID}, nil
	}))
	type consoleQuota struct {
		Limit        int `json:"limit"`
		SpeedUpLimit int `json:"speedup_limit"`
	}
	s.mux.HandleFunc("POST /sim/review-quota", consoleJSON(func(_ *http.Request, in *consoleQuota) (any, error) {
		s.SetReviewQuota(ReviewQuota(*in))
		return in, nil
	}))
	s.mux.HandleFunc("GET /sim/testers", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, map[string]any{"testers": s.Testers(r.URL.Query().Get("appid"))})
	})
}

var errWeChatIDRequired = errors.New("wechatid is required")
