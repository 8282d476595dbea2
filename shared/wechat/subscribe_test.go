package wechat_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/subscribe"
	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

const (
	subscribeAppID = "wx2222222222222222"
	homeServices   = 21
)

// tidOrderAccepted is the simulator's 工单受理通知 under Home Services
// (category 21), whose keywords are 1 工单编号 (character_string),
// 2 服务项目 (thing), 3 受理时间 (time), 4 受理状态 (phrase),
// 5 客服电话 (phone_number) and 6 温馨提示 (thing).
const tidOrderAccepted wechat.IDString = "4101"

// authorizerSource is an authorizer's access token, renewed through the
// client with its refresh token as the token manager renews it; it counts
// the renewals.
type authorizerSource struct {
	c            *wechat.Client
	cat          wechat.TokenSource
	appid        string
	refreshToken string

	mu        sync.Mutex
	token     string
	refreshes int
}

func (s *authorizerSource) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, nil
}

func (s *authorizerSource) Refresh(ctx context.Context, _ string) (string, error) {
	tok, err := s.c.AuthorizerToken(ctx, s.cat, s.appid, s.refreshToken)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.refreshes = tok.AccessToken, s.refreshes+1
	return s.token, nil
}

func (s *authorizerSource) refreshCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// subscribeWorld is a simulator with one authorized mini program in the
// Home Services category, and the client.
type subscribeWorld struct {
	sim *wechatsim.Sim
	c   *wechat.Client
	cat *countingSource
	aat *authorizerSource
}

func setupSubscribe(t *testing.T) *subscribeWorld {
	t.Helper()
	sim, c := setup(t)
	ctx := context.Background()
	cat := newSource(t, sim, c)
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: subscribeAppID, Name: "Acme Service", UserName: "gh_acme2", MiniProgram: true,
		Permissions: []int{17, 18, 30}})
	code, err := sim.Authorize(subscribeAppID)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.QueryAuth(ctx, cat, code)
	if err != nil {
		t.Fatal(err)
	}
	aat := &authorizerSource{c: c, cat: cat, appid: subscribeAppID, refreshToken: info.AuthorizerRefreshToken,
		token: info.AuthorizerAccessToken}
	if err := c.AddCategories(ctx, aat, []wechat.Category{{First: 2, Second: homeServices}}); err != nil {
		t.Fatal(err)
	}
	return &subscribeWorld{sim: sim, c: c, cat: cat, aat: aat}
}

// login plays openid opening the mini program: wx.login and our
// code2session, after which WeChat knows the openid for the app.
func (w *subscribeWorld) login(t *testing.T, openid string) {
	t.Helper()
	js := w.sim.IssueJSCode(subscribeAppID, openid, "")
	if _, err := w.c.ComponentCode2Session(context.Background(), w.cat, subscribeAppID, js); err != nil {
		t.Fatal(err)
	}
}

// addOrderAccepted adds 工单受理通知 with its first four keywords.
func (w *subscribeWorld) addOrderAccepted(t *testing.T) string {
	t.Helper()
	id, err := w.c.AddSubscribeTemplate(context.Background(), w.aat, tidOrderAccepted, []int{1, 2, 3, 4}, "工单受理后通知客户")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// orderAccepted is a message of 工单受理通知 whose values are shaped by
// shared/subscribe, as the product shapes them.
func orderAccepted(t *testing.T, openid, templateID string) wechat.SubscribeMessage {
	t.Helper()
	item, err := subscribe.Format(subscribe.Thing, "空调不制冷，室内机持续滴水，需要尽快上门检修")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 1, 30, 0, 0, time.UTC)
	return wechat.SubscribeMessage{ToUser: openid, TemplateID: templateID, Page: "pages/order/detail?id=WO-1",
		Data: map[string]string{"character_string1": "WO-20240501-0001", "thing2": item,
			"time3": subscribe.TimeValue(at, time.FixedZone("CST", 8*3600)), "phrase4": "已受理"}}
}

func TestSubscribeTemplateSetupRoundTrip(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	cats, err := w.c.SubscribeCategories(ctx, w.aat)
	if err != nil || len(cats) != 1 || cats[0].ID != homeServices || cats[0].Name == "" {
		t.Fatalf("categories %+v %v", cats, err)
	}
	titles, err := w.c.PublicTemplateTitles(ctx, w.aat, wechat.TitleQuery{CategoryIDs: []int{homeServices}, Limit: 30})
	if err != nil || titles.Count != 4 || len(titles.Titles) != 4 {
		t.Fatalf("titles %+v %v", titles, err)
	}
	first := titles.Titles[0]
	if first.TID != tidOrderAccepted || first.Title != "工单受理通知" || first.Type != wechat.OneTimeSubscription || first.CategoryID != "21" {
		t.Fatalf("first title %+v", first)
	}
	page, err := w.c.PublicTemplateTitles(ctx, w.aat, wechat.TitleQuery{CategoryIDs: []int{homeServices, 31}, Start: 6, Limit: 5})
	if err != nil || page.Count != 8 || len(page.Titles) != 2 {
		t.Fatalf("second page %+v %v", page, err)
	}
	found, err := w.c.PublicTemplateTitles(ctx, w.aat, wechat.TitleQuery{CategoryIDs: []int{homeServices}, Limit: 30, Keyword: "进度"})
	if err != nil || found.Count != 1 || found.Titles[0].Title != "服务进度提醒" {
		t.Fatalf("keyword %+v %v", found, err)
	}
	keywords, err := w.c.PublicTemplateKeywords(ctx, w.aat, tidOrderAccepted)
	if err != nil || len(keywords) != 6 || keywords[0] != (wechat.PublicTemplateKeyword{KID: 1, Name: "工单编号",
		Example: "WO20240501001", Rule: subscribe.CharacterString}) {
		t.Fatalf("keywords %+v %v", keywords, err)
	}
	for _, k := range keywords {
		if err := subscribe.Valid(k.Rule, k.Example); err != nil {
			t.Errorf("the library's own example %q for %s: %v", k.Example, k.Rule, err)
		}
	}

	id := w.addOrderAccepted(t)
	if len(id) != 43 {
		t.Fatalf("priTmplId %q", id)
	}
	list, err := w.c.SubscribeTemplates(ctx, w.aat)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Title != "工单受理通知" || list[0].Type != wechat.OneTimeSubscription {
		t.Fatalf("templates %+v %v", list, err)
	}
	want := []subscribe.Field{{Label: "工单编号", Key: "character_string1", Rule: subscribe.CharacterString},
		{Label: "服务项目", Key: "thing2", Rule: subscribe.Thing}, {Label: "受理时间", Key: "time3", Rule: subscribe.Time},
		{Label: "受理状态", Key: "phrase4", Rule: subscribe.Phrase}}
	if got := subscribe.Fields(list[0].Content); len(got) != len(want) || got[0] != want[0] || got[3] != want[3] {
		t.Fatalf("fields %+v of %q", got, list[0].Content)
	}
	if !strings.Contains(list[0].Example, "受理状态:已受理") {
		t.Errorf("example %q", list[0].Example)
	}

	if err := w.c.DeleteSubscribeTemplate(ctx, w.aat, id); err != nil {
		t.Fatal(err)
	}
	if list, err := w.c.SubscribeTemplates(ctx, w.aat); err != nil || len(list) != 0 {
		t.Fatalf("after delete %+v %v", list, err)
	}
	if err := w.c.DeleteSubscribeTemplate(ctx, w.aat, id); !wechat.IsCode(err, wechat.CodeTemplateParamInvalid) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestTheTemplateLibraryRefusesWhatWeChatRefuses(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	add := func(tid wechat.IDString, kids []int, scene string) error {
		_, err := w.c.AddSubscribeTemplate(ctx, w.aat, tid, kids, scene)
		return err
	}
	titles := func(q wechat.TitleQuery) error {
		_, err := w.c.PublicTemplateTitles(ctx, w.aat, q)
		return err
	}
	_, keywordsErr := w.c.PublicTemplateKeywords(ctx, w.aat, "999")
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"an unknown title", add("999", []int{1, 2}, ""), wechat.CodeInvalidTemplateTID},
		{"no title", add("", []int{1, 2}, ""), wechat.CodeInvalidTemplateTID},
		{"keywords of an unknown title", keywordsErr, wechat.CodeInvalidTemplateTID},
		{"one keyword", add(tidOrderAccepted, []int{1}, ""), wechat.CodeInvalidKidList},
		{"six keywords", add(tidOrderAccepted, []int{1, 2, 3, 4, 5, 6}, ""), wechat.CodeInvalidKidList},
		{"a keyword twice", add(tidOrderAccepted, []int{1, 2, 2}, ""), wechat.CodeInvalidKidList},
		{"a keyword the title lacks", add(tidOrderAccepted, []int{1, 7}, ""), wechat.CodeInvalidKidList},
		{"a scene of 16 characters", add(tidOrderAccepted, []int{1, 2}, strings.Repeat("场", 16)), wechat.CodeInvalidSceneDesc},
		{"no category", titles(wechat.TitleQuery{Limit: 10}), wechat.CodeCategoryIDsMissing},
		{"an unknown category", titles(wechat.TitleQuery{CategoryIDs: []int{99}, Limit: 10}), wechat.CodeInvalidCategoryIDs},
		{"a first-level category", titles(wechat.TitleQuery{CategoryIDs: []int{2}, Limit: 10}), wechat.CodeInvalidCategoryIDs},
		{"a page of 31", titles(wechat.TitleQuery{CategoryIDs: []int{homeServices}, Limit: 31}), wechat.CodeInvalidLimit},
		{"a page of 0", titles(wechat.TitleQuery{CategoryIDs: []int{homeServices}}), wechat.CodeInvalidLimit},
		{"a negative start", titles(wechat.TitleQuery{CategoryIDs: []int{homeServices}, Start: -1, Limit: 1}), wechat.CodeInvalidStart},
	}
	for _, tc := range cases {
		if !wechat.IsCode(tc.err, tc.want) {
			t.Errorf("%s: %v, want errcode %d", tc.name, tc.err, tc.want)
		}
	}

	// The list holds 50; the same title and keywords twice are two templates.
	for i := range 50 {
		if err := add(tidOrderAccepted, []int{1, 2}, ""); err != nil {
			t.Fatalf("template %d: %v", i+1, err)
		}
	}
	if err := add(tidOrderAccepted, []int{1, 2}, ""); !wechat.IsCode(err, wechat.CodeTemplateLimit) {
		t.Fatalf("the 51st template: %v", err)
	}
}

func TestASendUsesOneGrantAndIsDelivered(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	id := w.addOrderAccepted(t)
	w.login(t, "o-customer")
	if err := w.sim.GrantSubscription(subscribeAppID, "o-customer", id, 1); err != nil {
		t.Fatal(err)
	}
	msg := orderAccepted(t, "o-customer", id)
	msgID, err := w.c.SendSubscribeMessage(ctx, w.aat, msg)
	if err != nil || msgID == 0 {
		t.Fatalf("send: %d %v", msgID, err)
	}
	sent := w.sim.SubscribeMessages(subscribeAppID)
	if len(sent) != 1 || sent[0].MsgID != msgID || sent[0].Data["thing2"] != "空调不制冷，室内机持续滴水，需要尽快上…" ||
		sent[0].Data["time3"] != "2024-05-01 09:30" || sent[0].State != "formal" || sent[0].Lang != "zh_CN" || sent[0].Page != msg.Page {
		t.Fatalf("delivered %+v", sent)
	}
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, msg); !wechat.IsCode(err, wechat.CodeNoSubscription) {
		t.Fatalf("a second send on one accept: %v", err)
	}
	if n := w.sim.GrantsLeft(subscribeAppID, "o-customer", id); n != 0 {
		t.Fatalf("grants left %d", n)
	}
	msg.State, msg.Lang = wechat.StateTrial, wechat.LangEnglish
	if err := w.sim.GrantSubscription(subscribeAppID, "o-customer", id, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, msg); err != nil {
		t.Fatal(err)
	}
	if sent := w.sim.SubscribeMessages(subscribeAppID); len(sent) != 2 || sent[1].State != "trial" || sent[1].Lang != "en_US" {
		t.Fatalf("delivered %+v", sent)
	}
	if err := w.c.DeleteSubscribeTemplate(ctx, w.aat, id); err != nil {
		t.Fatal(err)
	}
	if n := w.sim.GrantsLeft(subscribeAppID, "o-customer", id); n != 0 {
		t.Fatalf("a deleted template's grants stayed: %d", n)
	}
}

// TestEachRefusedSendHasItsOwnIdentity: the sender can tell why WeChat
// refused, and a refused send uses no grant.
func TestEachRefusedSendHasItsOwnIdentity(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	id := w.addOrderAccepted(t)
	w.login(t, "o-customer")
	if err := w.sim.GrantSubscription(subscribeAppID, "o-customer", id, 1); err != nil {
		t.Fatal(err)
	}
	w.login(t, "o-no-grant")
	good := orderAccepted(t, "o-customer", id)
	change := func(edit func(m *wechat.SubscribeMessage)) wechat.SubscribeMessage {
		m := good
		m.Data = maps.Clone(good.Data)
		edit(&m)
		return m
	}
	cases := []struct {
		name    string
		msg     wechat.SubscribeMessage
		code    int
		keyword string
	}{
		{"a user never logged in", change(func(m *wechat.SubscribeMessage) { m.ToUser = "o-stranger" }), wechat.CodeInvalidOpenID, ""},
		{"no user", change(func(m *wechat.SubscribeMessage) { m.ToUser = "" }), wechat.CodeInvalidOpenID, ""},
		{"an unknown template", change(func(m *wechat.SubscribeMessage) { m.TemplateID = "nosuchtemplate" }), wechat.CodeInvalidTemplateID, ""},
		{"a missing keyword", change(func(m *wechat.SubscribeMessage) { delete(m.Data, "phrase4") }), wechat.CodeInvalidKeywordValue, "phrase4"},
		{"an empty value", change(func(m *wechat.SubscribeMessage) { m.Data["time3"] = "" }), wechat.CodeInvalidKeywordValue, "time3"},
		{"a thing of 21 characters", change(func(m *wechat.SubscribeMessage) { m.Data["thing2"] = strings.Repeat("修", 21) }),
			wechat.CodeInvalidKeywordValue, "thing2"},
		{"Chinese in a code", change(func(m *wechat.SubscribeMessage) { m.Data["character_string1"] = "工单一" }),
			wechat.CodeInvalidKeywordValue, "character_string1"},
		{"a keyword the template lacks", change(func(m *wechat.SubscribeMessage) { m.Data["thing6"] = "多余" }),
			wechat.CodeInvalidKeywordValue, "thing6"},
		{"a user without a grant", change(func(m *wechat.SubscribeMessage) { m.ToUser = "o-no-grant" }), wechat.CodeNoSubscription, ""},
	}
	for _, tc := range cases {
		_, err := w.c.SendSubscribeMessage(ctx, w.aat, tc.msg)
		if !wechat.IsCode(err, tc.code) {
			t.Errorf("%s: %v, want errcode %d", tc.name, err, tc.code)
			continue
		}
		if key, ok := wechat.InvalidKeyword(err); key != tc.keyword || ok != (tc.keyword != "") {
			t.Errorf("%s: refused keyword %q %v, want %q", tc.name, key, ok, tc.keyword)
		}
	}
	if n := w.sim.GrantsLeft(subscribeAppID, "o-customer", id); n != 1 || len(w.sim.SubscribeMessages(subscribeAppID)) != 0 {
		t.Fatalf("refused sends used a grant (%d left) or were delivered", n)
	}
	other := setupSubscribe(t)
	otherID := other.addOrderAccepted(t)
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, change(func(m *wechat.SubscribeMessage) { m.TemplateID = otherID })); !wechat.IsCode(
		err, wechat.CodeInvalidTemplateID) {
		t.Fatalf("another mini program's template: %v", err)
	}
}

// TestSubscribeCallsRenewAnExpiredAuthorizerTokenOnce: 40001/42001 on a
// subscribe call go through the client's one forced refresh, as for every
// authorizer call, and never loop.
func TestSubscribeCallsRenewAnExpiredAuthorizerTokenOnce(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	id := w.addOrderAccepted(t)
	w.login(t, "o-customer")
	if err := w.sim.GrantSubscription(subscribeAppID, "o-customer", id, 1); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	w.sim.InjectError("subscribe_send", wechat.CodeTokenExpired, 1)
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, orderAccepted(t, "o-customer", id)); err != nil {
		t.Fatalf("one 42001 should be healed: %v", err)
	}
	if w.aat.refreshCount() != 1 || w.sim.Calls("subscribe_send") != 2 {
		t.Fatalf("refreshes %d, calls %d", w.aat.refreshCount(), w.sim.Calls("subscribe_send"))
	}
	w.sim.ResetCalls()
	w.sim.InjectError("gettemplate", wechat.CodeInvalidToken, 2)
	if _, err := w.c.SubscribeTemplates(ctx, w.aat); !wechat.IsCode(err, wechat.CodeInvalidToken) {
		t.Fatalf("40001 twice: %v", err)
	}
	if w.aat.refreshCount() != 2 || w.sim.Calls("gettemplate") != 2 {
		t.Fatalf("refreshes %d, calls %d: must not loop", w.aat.refreshCount(), w.sim.Calls("gettemplate"))
	}
}

// TestBusyIsRetriedAndTheDailyLimitIsNot: -1 means WeChat did not process
// the send, so it is sent again (one grant used); 45009 is final.
func TestBusyIsRetriedAndTheDailyLimitIsNot(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	id := w.addOrderAccepted(t)
	w.login(t, "o-customer")
	if err := w.sim.GrantSubscription(subscribeAppID, "o-customer", id, 2); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	w.sim.InjectError("subscribe_send", wechat.CodeBusy, 1)
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, orderAccepted(t, "o-customer", id)); err != nil {
		t.Fatalf("-1 then success: %v", err)
	}
	if w.sim.Calls("subscribe_send") != 2 || w.sim.GrantsLeft(subscribeAppID, "o-customer", id) != 1 {
		t.Fatalf("calls %d, grants left %d", w.sim.Calls("subscribe_send"), w.sim.GrantsLeft(subscribeAppID, "o-customer", id))
	}
	w.sim.ResetCalls()
	w.sim.InjectError("subscribe_send", wechat.CodeQuotaDaily, 1)
	if _, err := w.c.SendSubscribeMessage(ctx, w.aat, orderAccepted(t, "o-customer", id)); !wechat.IsCode(err, wechat.CodeQuotaDaily) {
		t.Fatalf("45009: %v", err)
	}
	if w.sim.Calls("subscribe_send") != 1 || w.sim.GrantsLeft(subscribeAppID, "o-customer", id) != 1 {
		t.Fatalf("45009 was retried (%d calls) or used a grant", w.sim.Calls("subscribe_send"))
	}
}

// TestThePublicMiniProgramSendsWithItsOwnToken: the platform's own mini
// program uses the same APIs with its access_token.
func TestThePublicMiniProgramSendsWithItsOwnToken(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	sim.AddPublicApp("wxpub", "pubsecret")
	tok, err := c.AppAccessToken(ctx, "wxpub", "pubsecret")
	if err != nil {
		t.Fatal(err)
	}
	pub := wechat.StaticToken(tok.AccessToken)
	id, err := c.AddSubscribeTemplate(ctx, pub, tidOrderAccepted, []int{1, 2, 3, 4}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Code2Session(ctx, "wxpub", "pubsecret", sim.IssueJSCode("wxpub", "o-public", "")); err != nil {
		t.Fatal(err)
	}
	if err := sim.GrantSubscription("wxpub", "o-public", id, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendSubscribeMessage(ctx, pub, orderAccepted(t, "o-public", id)); err != nil {
		t.Fatal(err)
	}
	if len(sim.SubscribeMessages("wxpub")) != 1 {
		t.Fatal("not delivered")
	}
}

func TestInvalidKeywordReadsTheKeyFromWeChatsMessage(t *testing.T) {
	cases := []struct {
		err  error
		key  string
		okay bool
	}{
		{&wechat.APIError{Code: 47003, Msg: "argument invalid! data.thing23.value invalid"}, "thing23", true},
		{&wechat.APIError{Code: 47003, Msg: "argument invalid!"}, "", false},
		{&wechat.APIError{Code: 40003, Msg: "argument invalid! data.thing23.value invalid"}, "", false},
		{nil, "", false},
	}
	for _, tc := range cases {
		if key, ok := wechat.InvalidKeyword(tc.err); key != tc.key || ok != tc.okay {
			t.Errorf("InvalidKeyword(%v) = %q %v", tc.err, key, ok)
		}
	}
	for _, reply := range []string{`{"tid":99,"categoryId":616}`, `{"tid":"99","categoryId":"616"}`} {
		var title wechat.PublicTemplateTitle
		if err := json.Unmarshal([]byte(reply), &title); err != nil || title.TID != "99" || title.CategoryID != "616" {
			t.Errorf("%s: %+v %v", reply, title, err)
		}
	}
	var title wechat.PublicTemplateTitle
	if err := json.Unmarshal([]byte(`{"tid":"x"}`), &title); err == nil {
		t.Error("a tid that is no number was read")
	}
}
