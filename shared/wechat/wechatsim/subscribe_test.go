package wechatsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

// subscribeApp is the authorized app with the Home Services category,
// one template of 工单受理通知 (keywords 1-4) and a logged-in user.
type subscribeApp struct {
	*authorizedApp
	templateID string
}

const subscriber = "o-subscriber"

func withSubscribeTemplate(t *testing.T) *subscribeApp {
	t.Helper()
	app := authorize(t)
	ctx := context.Background()
	aat := wechat.StaticToken(app.appToken)
	if err := app.client.AddCategories(ctx, aat, []wechat.Category{{First: 2, Second: 21}}); err != nil {
		t.Fatal(err)
	}
	id, err := app.client.AddSubscribeTemplate(ctx, aat, "4101", []int{1, 2, 3, 4}, "")
	if err != nil {
		t.Fatal(err)
	}
	js := app.sim.IssueJSCode(appID, subscriber, "")
	if _, err := app.client.ComponentCode2Session(ctx, wechat.StaticToken(app.componentToken), appID, js); err != nil {
		t.Fatal(err)
	}
	return &subscribeApp{authorizedApp: app, templateID: id}
}

// send is a raw send of data for the app's template to the subscriber.
func (app *subscribeApp) send(t *testing.T, data map[string]any) (int, map[string]any) {
	t.Helper()
	body := jsonBody(t, map[string]any{"touser": subscriber, "template_id": app.templateID, "data": data})
	return rawCall(t, app.sim, http.MethodPost, "/cgi-bin/message/subscribe/send", url.Values{"access_token": {app.appToken}}, body)
}

func values(kv ...string) map[string]any {
	out := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = map[string]any{"value": kv[i+1]}
	}
	return out
}

// TestEverySubscribeAPIChecksTheAppToken: like every authorizer API, each
// reads access_token only and knows a stale token from an unknown one.
func TestEverySubscribeAPIChecksTheAppToken(t *testing.T) {
	app := authorize(t)
	apis := []struct{ method, path string }{
		{"GET", "/wxaapi/newtmpl/getcategory"}, {"GET", "/wxaapi/newtmpl/getpubtemplatetitles"},
		{"GET", "/wxaapi/newtmpl/getpubtemplatekeywords"}, {"POST", "/wxaapi/newtmpl/addtemplate"},
		{"GET", "/wxaapi/newtmpl/gettemplate"}, {"POST", "/wxaapi/newtmpl/deltemplate"},
		{"POST", "/cgi-bin/message/subscribe/send"},
	}
	for _, api := range apis {
		for _, tc := range []struct {
			name  string
			query url.Values
			want  int
		}{
			{"no token", nil, 41001},
			{"the token as component_access_token", url.Values{"component_access_token": {app.appToken}}, 41001},
			{"the component token", url.Values{"access_token": {app.componentToken}}, 40001},
			{"an unknown token", url.Values{"access_token": {"authorizertoken@@@nosuch"}}, 40001},
		} {
			if got, _ := rawCall(t, app.sim, api.method, api.path, tc.query, "{}"); got != tc.want {
				t.Errorf("%s %s, %s: errcode %d, want %d", api.method, api.path, tc.name, got, tc.want)
			}
		}
	}
	app.sim.Unauthorize(appID)
	if got, _ := rawCall(t, app.sim, "GET", "/wxaapi/newtmpl/gettemplate", url.Values{"access_token": {app.appToken}}, ""); got != 40001 {
		t.Errorf("after the authorization is revoked: errcode %d", got)
	}
}

// TestAddTemplateReadsTheBodyAsWeChatDoes: the tid is a string (a number
// is "missing parameter tid"), kidList numbers, and the body JSON.
func TestAddTemplateReadsTheBodyAsWeChatDoes(t *testing.T) {
	app := authorize(t)
	q := url.Values{"access_token": {app.appToken}}
	body := map[string]any{"tid": "4101", "kidList": []int{1, 2}, "sceneDesc": "受理通知"}
	cases := []struct {
		name string
		body string
		want int
		msg  string
	}{
		{"as documented", jsonBody(t, body), 0, ""},
		{"without a scene", jsonBody(t, without(body, "sceneDesc")), 0, ""},
		{"a numeric tid", jsonBody(t, with(body, "tid", 4101)), 200014, "missing parameter tid"},
		{"no tid", jsonBody(t, without(body, "tid")), 200014, "missing parameter tid"},
		{"an unknown tid", jsonBody(t, with(body, "tid", "77")), 200014, "tid does not exist"},
		{"no kidList", jsonBody(t, without(body, "kidList")), 200020, ""},
		{"kidList of strings", jsonBody(t, with(body, "kidList", []string{"1", "2"})), 47001, ""},
		{"a form body", "tid=4101&kidList=1&kidList=2", 47001, ""},
		{"an empty body", "", 44002, ""},
	}
	for _, tc := range cases {
		got, reply := rawCall(t, app.sim, http.MethodPost, "/wxaapi/newtmpl/addtemplate", q, tc.body)
		if got != tc.want {
			t.Errorf("%s: errcode %d, want %d", tc.name, got, tc.want)
		}
		if msg, _ := reply["errmsg"].(string); tc.msg != "" && !strings.HasPrefix(msg, tc.msg+" rid: ") {
			t.Errorf("%s: errmsg %q", tc.name, msg)
		}
		if id, _ := reply["priTmplId"].(string); tc.want == 0 && len(id) != 43 {
			t.Errorf("%s: priTmplId %q", tc.name, id)
		}
	}
}

// TestSendNamesTheKeywordItRefuses: 47003's errmsg names the key, as
// WeChat's "argument invalid! data.thing2.value invalid"; a number counts
// as its text.
func TestSendNamesTheKeywordItRefuses(t *testing.T) {
	app := withSubscribeTemplate(t)
	if err := app.sim.GrantSubscription(appID, subscriber, app.templateID, 1); err != nil {
		t.Fatal(err)
	}
	good := []string{"character_string1", "WO-1", "thing2", "空调维修", "time3", "2024-05-01 09:30", "phrase4", "已受理"}
	code, reply := app.send(t, values(append(good[:2:2], "thing2", "这是一段超过二十个字的服务项目说明文字会被拒绝", "time3", "9:30",
		"phrase4", "已受理")...))
	if code != 47003 || !strings.HasPrefix(reply["errmsg"].(string), "argument invalid! data.thing2.value invalid rid: ") {
		t.Fatalf("errcode %d, errmsg %q", code, reply["errmsg"])
	}
	data := values(good...)
	data["character_string1"] = map[string]any{"value": 12345}
	if code, reply := app.send(t, data); code != 0 || reply["msgid"] == nil {
		t.Fatalf("a numeric code: errcode %d %v", code, reply)
	}
	if sent := app.sim.SubscribeMessages(appID); len(sent) != 1 || sent[0].Data["character_string1"] != "12345" {
		t.Fatalf("delivered %+v", sent)
	}
	data["character_string1"] = map[string]any{"value": []string{"x"}}
	if code, _ := app.send(t, data); code != 47003 {
		t.Fatalf("a list as a value: errcode %d", code)
	}
	body := jsonBody(t, map[string]any{"touser": subscriber, "template_id": app.templateID, "data": values(good...),
		"miniprogram_state": "release"})
	if code, _ := rawCall(t, app.sim, http.MethodPost, "/cgi-bin/message/subscribe/send", url.Values{"access_token": {app.appToken}},
		body); code != 47001 {
		t.Fatalf("an unknown miniprogram_state: errcode %d", code)
	}
}

// TestTheConsolePlaysTheUsersAcceptAndShowsWhatWasSent: `make demo` can
// drive a whole story over HTTP.
func TestTheConsolePlaysTheUsersAcceptAndShowsWhatWasSent(t *testing.T) {
	app := withSubscribeTemplate(t)
	post := func(body string) (int, map[string]any) {
		return consoleCall(t, app.sim, http.MethodPost, "/sim/subscriptions", body)
	}
	status, reply := post(jsonBody(t, map[string]any{"appid": appID, "openid": subscriber, "template_ids": []string{app.templateID},
		"times": 2}))
	if status != http.StatusOK || reply["remaining"].(map[string]any)[app.templateID] != float64(2) {
		t.Fatalf("grant: %d %v", status, reply)
	}
	for name, body := range map[string]string{
		"four templates at once": jsonBody(t, map[string]any{"appid": appID, "openid": subscriber,
			"template_ids": []string{app.templateID, app.templateID, app.templateID, app.templateID}}),
		"an unknown template": jsonBody(t, map[string]any{"appid": appID, "openid": subscriber,
			"template_ids": []string{app.templateID, "nosuch"}}),
		"no openid":        jsonBody(t, map[string]any{"appid": appID, "template_ids": []string{app.templateID}}),
		"an unknown field": `{"appid":"` + appID + `","openid":"o","template_ids":["x"],"count":1}`,
	} {
		if status, _ := post(body); status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d", name, status)
		}
	}
	if n := app.sim.GrantsLeft(appID, subscriber, app.templateID); n != 2 {
		t.Fatalf("a refused request changed the grants: %d", n)
	}
	if code, _ := app.send(t, values("character_string1", "WO-1", "thing2", "空调维修", "time3", "09:30", "phrase4", "已受理")); code != 0 {
		t.Fatalf("send: errcode %d", code)
	}
	status, reply = consoleCall(t, app.sim, http.MethodGet, "/sim/subscribe-messages?appid="+appID, "")
	messages, _ := reply["messages"].([]any)
	if status != http.StatusOK || len(messages) != 1 || messages[0].(map[string]any)["touser"] != subscriber {
		t.Fatalf("messages: %d %v", status, reply)
	}
	if status, _ := consoleCall(t, app.sim, http.MethodGet, "/sim/subscribe-messages", ""); status != http.StatusBadRequest {
		t.Fatalf("messages without appid: HTTP %d", status)
	}
	if err := app.sim.GrantSubscription(appID, subscriber, "nosuch", 1); err == nil {
		t.Fatal("a grant for an unknown template")
	}
	if err := app.sim.GrantSubscription(appID, subscriber, app.templateID, 0); err == nil {
		t.Fatal("a grant of zero accepts")
	}
}

// consoleCall calls the simulator's console and returns the status and
// the JSON reply.
func consoleCall(t *testing.T, sim *wechatsim.Sim, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, sim.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: not JSON: %q", path, raw)
	}
	return resp.StatusCode, out
}
