package wechatsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"wxchannel/shared/subscribe"
)

// Subscribe messages (订阅消息): the public template library, each mini
// program's own templates, the grants users give by accepting a template
// in the mini program, and the messages sent with them. Grants and sent
// messages are what WeChat's side has and the protocol does not show: the
// console and the Go methods below play and read them.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html

// Limits of a mini program's own templates (addtemplate's table).
const (
	// subscribeTemplateLimit: the older table says 25; later sources
	// give 50, which the simulator keeps.
	subscribeTemplateLimit = 50
	minKeywords            = 2
	maxKeywords            = 5
	maxSceneDesc           = 15
	maxTitlesPerPage       = 30
	// maxTemplatesPerRequest bounds the templates one
	// wx.requestSubscribeMessage asks for.
	maxTemplatesPerRequest = 3
)

// fieldData is where the library's replies list what was asked for.
const fieldData = "data"

// Labels and examples several titles share.
const (
	labelOrderNumber   = "工单编号"
	exampleOrderNumber = "WO20240501001"
	labelServiceItem   = "服务项目"
	exampleServiceItem = "空调维修"
	labelEngineer      = "服务工程师"
	exampleEngineer    = "张伟"
)

// libraryKeyword is a keyword a library title offers.
type libraryKeyword struct {
	kid                 int
	name, example, rule string
}

// key is how a send names the keyword: its rule and its kid (thing2).
func (k libraryKeyword) key() string { return k.rule + strconv.Itoa(k.kid) }

// libraryTitle is a title of the public library, filed under one
// second-level category of the simulator's category tree.
type libraryTitle struct {
	tid      int64
	title    string
	category int
	keywords []libraryKeyword
}

// Keywords of the after-sales titles, with WeChat-style labels, examples
// and rules.
var (
	orderAcceptedKeywords = []libraryKeyword{
		{1, labelOrderNumber, exampleOrderNumber, subscribe.CharacterString},
		{2, labelServiceItem, exampleServiceItem, subscribe.Thing},
		{3, "受理时间", "2024-05-01 09:30", subscribe.Time},
		{4, "受理状态", "已受理", subscribe.Phrase},
		{5, "客服电话", "400-820-8820", subscribe.PhoneNumber},
		{6, "温馨提示", "工程师将尽快与您联系", subscribe.Thing},
	}
	progressKeywords = []libraryKeyword{
		{1, labelOrderNumber, exampleOrderNumber, subscribe.CharacterString},
		{2, "当前进度", "已出发", subscribe.Phrase},
		{3, labelEngineer, exampleEngineer, subscribe.Name},
		{4, "预约时间", "2024-05-02 14:00~16:00", subscribe.Time},
		{5, "进度说明", "工程师已出发，预计30分钟到达", subscribe.Thing},
		{6, "工程师电话", "13800138000", subscribe.PhoneNumber},
		{7, "上门车辆", "粤A8Z888", subscribe.CarNumber},
	}
	completedKeywords = []libraryKeyword{
		{1, labelOrderNumber, exampleOrderNumber, subscribe.CharacterString},
		{2, labelServiceItem, exampleServiceItem, subscribe.Thing},
		{3, "完成时间", "2024-05-02 15:40", subscribe.Time},
		{4, "服务费用", "¥120.00", subscribe.Amount},
		{5, "处理结果", "已更换压缩机，运行正常", subscribe.Thing},
	}
	reviewKeywords = []libraryKeyword{
		{1, labelServiceItem, exampleServiceItem, subscribe.Thing},
		{2, labelEngineer, exampleEngineer, subscribe.Name},
		{3, "完成日期", "2024-05-02", subscribe.Date},
		{4, "温馨提示", "请为本次服务评分", subscribe.Thing},
	}
	inspectionKeywords = []libraryKeyword{
		{1, "设备编号", "EQ-0042", subscribe.CharacterString},
		{2, "巡检日期", "2024-05-06", subscribe.Date},
		{3, "巡检结果", "正常", subscribe.Phrase},
		{4, "巡检人员", "李娜", subscribe.Name},
	}
)

// subscribeLibrary is the public library: the after-sales titles under
// Home Services (21) and Equipment Management (31), and one more under
// Enterprise Management (11).
var subscribeLibrary = []libraryTitle{
	{4101, "工单受理通知", 21, orderAcceptedKeywords},
	{4102, "服务进度提醒", 21, progressKeywords},
	{4103, "工单完成通知", 21, completedKeywords},
	{4104, "服务评价提醒", 21, reviewKeywords},
	{5101, "工单受理通知", 31, orderAcceptedKeywords},
	{5102, "服务进度提醒", 31, progressKeywords},
	{5103, "工单完成通知", 31, completedKeywords},
	{5104, "服务评价提醒", 31, reviewKeywords},
	{6101, "设备巡检提醒", 11, inspectionKeywords},
}

func libraryTitleOf(tid int64) (*libraryTitle, bool) {
	i := slices.IndexFunc(subscribeLibrary, func(t libraryTitle) bool { return t.tid == tid })
	if i < 0 {
		return nil, false
	}
	return &subscribeLibrary[i], true
}

// addedTemplate is a template of a mini program's own list.
type addedTemplate struct {
	id        string
	title     *libraryTitle
	keywords  []libraryKeyword // in the order of the kidList
	sceneDesc string
}

// content is how gettemplate shows the template: "label:{{key.DATA}}"
// per line; example fills in the keywords' examples.
func (t *addedTemplate) content() (content, example string) {
	var c, e strings.Builder
	for _, k := range t.keywords {
		c.WriteString(k.name + ":{{" + k.key() + ".DATA}}\n")
		e.WriteString(k.name + ":" + k.example + "\n")
	}
	return c.String(), e.String()
}

// grantKey is one user's grants for one template of one mini program.
type grantKey struct{ appid, openid, templateID string }

// SentMessage is a subscribe message WeChat delivered.
type SentMessage struct {
	AppID      string            `json:"appid"`
	ToUser     string            `json:"touser"`
	TemplateID string            `json:"template_id"`
	Page       string            `json:"page,omitempty"`
	Data       map[string]string `json:"data"`
	State      string            `json:"miniprogram_state"`
	Lang       string            `json:"lang"`
	MsgID      int64             `json:"msgid"`
	SentAt     time.Time         `json:"sent_at"`
}

// subscriptions is the subscribe-message state, kept under the
// simulator's lock.
type subscriptions struct {
	templates map[string][]*addedTemplate // appid → its own list, in order added
	grants    map[grantKey]int
	sent      map[string][]SentMessage // appid → messages, in order sent
	nextMsgID int64
}

func newSubscriptions() *subscriptions {
	return &subscriptions{templates: map[string][]*addedTemplate{}, grants: map[grantKey]int{},
		sent: map[string][]SentMessage{}, nextMsgID: 3_000_000_000_000_000}
}

func (st *subscriptions) template(appid, id string) (*addedTemplate, bool) {
	i := slices.IndexFunc(st.templates[appid], func(t *addedTemplate) bool { return t.id == id })
	if i < 0 {
		return nil, false
	}
	return st.templates[appid][i], true
}

// Errors of the Go and console calls that play users.
var (
	errNoSuchTemplate = errors.New("the mini program has no such subscribe template")
	errGrantCount     = errors.New("a user accepts a template at least once")
)

// GrantSubscription plays the user openid accepting template templateID
// of appid n times in the mini program (wx.requestSubscribeMessage): each
// accept of a one-time template allows one message.
func (s *Sim) GrantSubscription(appid, openid, templateID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grantLocked(appid, openid, templateID, n)
}

func (s *Sim) grantLocked(appid, openid, templateID string, n int) error {
	if n < 1 {
		return errGrantCount
	}
	if _, ok := s.subscriptions.template(appid, templateID); !ok {
		return errNoSuchTemplate
	}
	s.subscriptions.grants[grantKey{appid, openid, templateID}] += n
	return nil
}

// GrantsLeft is how many messages openid still accepts with template
// templateID of appid.
func (s *Sim) GrantsLeft(appid, openid, templateID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptions.grants[grantKey{appid, openid, templateID}]
}

// SubscribeMessages returns the subscribe messages delivered for appid, in
// the order they were sent.
func (s *Sim) SubscribeMessages(appid string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subscriptions.sent[appid])
}

// subscribeApp resolves the mini program a call is for from its
// access_token: an authorizer's (as the other authorizer APIs check it),
// or the public mini program's own.
func (s *Sim) subscribeApp(r *http.Request) (string, int) {
	a, code := s.authorizerOf(r)
	if code == 0 {
		return a.AppID, 0
	}
	tok, now := r.URL.Query().Get(paramAccessToken), s.opts.Now()
	for appid, ts := range s.publicTokens {
		if ts.check(tok, now) == 0 {
			return appid, 0
		}
	}
	return "", code
}

// subscribeAPI is a subscribe-message API of one mini program, run with
// the simulator's lock held.
type subscribeAPI func(appid string, r *http.Request, body []byte) (any, int)

func (s *Sim) withSubscribeApp(fn subscribeAPI) apiFunc {
	return func(r *http.Request, body []byte) (any, int) {
		appid, code := s.subscribeApp(r)
		if code != 0 {
			return nil, code
		}
		return fn(appid, r, body)
	}
}

// subscribeRoutes registers the template library, send, and the console
// calls that play users accepting templates and read what was sent.
func (s *Sim) subscribeRoutes() {
	app := s.withSubscribeApp
	s.handle("GET", "/wxaapi/newtmpl/getcategory", "newtmpl_getcategory", app(s.subscribeCategories))
	s.handle("GET", "/wxaapi/newtmpl/getpubtemplatetitles", "getpubtemplatetitles", app(publicTemplateTitles))
	s.handle("GET", "/wxaapi/newtmpl/getpubtemplatekeywords", "getpubtemplatekeywords", app(publicTemplateKeywords))
	s.handle("POST", "/wxaapi/newtmpl/addtemplate", "addtemplate", app(s.addSubscribeTemplate))
	s.handle("GET", "/wxaapi/newtmpl/gettemplate", "gettemplate", app(s.subscribeTemplates))
	s.handle("POST", "/wxaapi/newtmpl/deltemplate", "deltemplate", app(s.deleteSubscribeTemplate))
	s.handle("POST", "/cgi-bin/message/subscribe/send", "subscribe_send", app(s.sendSubscribeMessage))
	s.mux.HandleFunc("POST /sim/subscriptions", consoleJSON(s.consoleGrant))
	s.mux.HandleFunc("GET /sim/subscribe-messages", s.consoleSubscribeMessages)
}

// subscribeCategories is newtmpl/getcategory: the second-level categories
// the mini program has set (wxopen/addcategory), with their names.
func (s *Sim) subscribeCategories(appid string, _ *http.Request, _ []byte) (any, int) {
	cm := s.code()
	cm.mu.Lock()
	seconds := make([]int, 0, len(cm.prep(appid).categories))
	for second := range cm.prep(appid).categories {
		seconds = append(seconds, second)
	}
	cm.mu.Unlock()
	slices.Sort(seconds)
	data := []map[string]any{}
	for _, id := range seconds {
		data = append(data, map[string]any{"id": id, "name": categoryName(id)})
	}
	return okReply(map[string]any{fieldData: data}), 0
}

// publicTemplateTitles is newtmpl/getpubtemplatetitles: the titles of the
// categories ids (comma-separated; 200018 when absent, 200019 for one that
// is no second-level category), paged by start (200016) and limit (1 to
// 30, 200017), narrowed to those containing keyword when given. As in the
// reply's example, categoryId is a string.
func publicTemplateTitles(_ string, r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	if q.Get("ids") == "" {
		return subscribeErr(codeCategoryIDsMissing, "")
	}
	categories := map[int]bool{}
	for part := range strings.SplitSeq(q.Get("ids"), ",") {
		id, err := strconv.Atoi(part)
		if err != nil || !isSecondLevelCategory(id) {
			return subscribeErr(codeInvalidCategoryIDs, "")
		}
		categories[id] = true
	}
	start, err := strconv.Atoi(q.Get("start"))
	if err != nil || start < 0 {
		return subscribeErr(codeInvalidStart, "")
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > maxTitlesPerPage {
		return subscribeErr(codeInvalidLimit, "")
	}
	found := []map[string]any{}
	for _, t := range subscribeLibrary {
		if categories[t.category] && strings.Contains(t.title, q.Get("keyword")) {
			found = append(found, map[string]any{"tid": t.tid, "title": t.title, "type": 2, "categoryId": strconv.Itoa(t.category)})
		}
	}
	page := found[min(start, len(found)):min(start+limit, len(found))]
	return okReply(map[string]any{"count": len(found), fieldData: page}), 0
}

// isSecondLevelCategory reports whether id is a second-level category of
// the simulator's tree.
func isSecondLevelCategory(id int) bool {
	return slices.ContainsFunc(simCategories.Categories, func(c treeCategory) bool { return c.ID == id && c.Level == 2 })
}

// publicTemplateKeywords is newtmpl/getpubtemplatekeywords for tid
// (200014 for an unknown one).
func publicTemplateKeywords(_ string, r *http.Request, _ []byte) (any, int) {
	tid, err := strconv.ParseInt(r.URL.Query().Get("tid"), 10, 64)
	if err != nil {
		return subscribeErr(codeInvalidTID, errmsgMissingTID)
	}
	t, ok := libraryTitleOf(tid)
	if !ok {
		return subscribeErr(codeInvalidTID, "")
	}
	data := []map[string]any{}
	for _, k := range t.keywords {
		data = append(data, map[string]any{"kid": k.kid, "name": k.name, "example": k.example, "rule": k.rule})
	}
	return okReply(map[string]any{"count": len(data), fieldData: data}), 0
}

// addSubscribeTemplate is newtmpl/addtemplate: a title of the library with
// 2 to 5 distinct keywords of its own (200020), a scene description of at
// most 15 characters (200021), on a list of at most 50 (200012). The tid
// must be a JSON string: a number is "missing parameter tid". The same
// title and keywords added twice make two templates, as nothing in the
// API's table forbids it.
func (s *Sim) addSubscribeTemplate(appid string, _ *http.Request, body []byte) (any, int) {
	var req struct {
		TID       json.RawMessage `json:"tid"`
		KidList   []int           `json:"kidList"`
		SceneDesc string          `json:"sceneDesc"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	var tidText string
	if json.Unmarshal(req.TID, &tidText) != nil || tidText == "" {
		return subscribeErr(codeInvalidTID, errmsgMissingTID)
	}
	tid, err := strconv.ParseInt(tidText, 10, 64)
	title, ok := libraryTitleOf(tid)
	if err != nil || !ok {
		return subscribeErr(codeInvalidTID, "")
	}
	keywords, ok := pickKeywords(title, req.KidList)
	if !ok {
		return subscribeErr(codeInvalidKidList, "")
	}
	if utf8.RuneCountInString(req.SceneDesc) > maxSceneDesc {
		return subscribeErr(codeInvalidSceneDesc, "")
	}
	st := s.subscriptions
	if len(st.templates[appid]) >= subscribeTemplateLimit {
		return subscribeErr(codeTemplateLimit, "")
	}
	t := &addedTemplate{id: templateID(), title: title, keywords: keywords, sceneDesc: req.SceneDesc}
	st.templates[appid] = append(st.templates[appid], t)
	return okReply(map[string]any{"priTmplId": t.id}), 0
}

// pickKeywords returns the keywords kids names, in its order, when it
// names 2 to 5 distinct keywords of title.
func pickKeywords(title *libraryTitle, kids []int) ([]libraryKeyword, bool) {
	if len(kids) < minKeywords || len(kids) > maxKeywords {
		return nil, false
	}
	var picked []libraryKeyword
	for i, kid := range kids {
		j := slices.IndexFunc(title.keywords, func(k libraryKeyword) bool { return k.kid == kid })
		if j < 0 || slices.Contains(kids[:i], kid) {
			return nil, false
		}
		picked = append(picked, title.keywords[j])
	}
	return picked, true
}

// templateID is a new priTmplId: 43 characters of URL-safe base64, as
// WeChat's are.
func templateID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// subscribeTemplates is newtmpl/gettemplate: the mini program's own list.
func (s *Sim) subscribeTemplates(appid string, _ *http.Request, _ []byte) (any, int) {
	data := []map[string]any{}
	for _, t := range s.subscriptions.templates[appid] {
		content, example := t.content()
		data = append(data, map[string]any{"priTmplId": t.id, "title": t.title.title, "content": content, "example": example,
			"type": 2})
	}
	return okReply(map[string]any{fieldData: data}), 0
}

// deleteSubscribeTemplate is newtmpl/deltemplate; an id not on the list is
// 200002 "入参错误". Users' grants for the template go with it.
func (s *Sim) deleteSubscribeTemplate(appid string, _ *http.Request, body []byte) (any, int) {
	var req struct {
		PriTmplID string `json:"priTmplId"`
	}
	if c := decode(body, &req); c != 0 {
		return nil, c
	}
	st := s.subscriptions
	if _, ok := st.template(appid, req.PriTmplID); !ok {
		return subscribeErr(codeTemplateParamInvalid, "")
	}
	st.templates[appid] = slices.DeleteFunc(st.templates[appid], func(t *addedTemplate) bool { return t.id == req.PriTmplID })
	for k := range st.grants {
		if k.appid == appid && k.templateID == req.PriTmplID {
			delete(st.grants, k)
		}
	}
	return okReply(nil), 0
}
