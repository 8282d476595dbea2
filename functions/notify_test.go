package functions_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wxchannel/functions"
	"wxchannel/shared/app"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/notify"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

const notifyApp = "wxacme00000000n1"

// notifyWorld is tenant acme with its own mini program bound and
// prepared, an engineer in its directory, and a customer signed in
// through the mini program's trial version.
type notifyWorld struct {
	*testenv.API
	admin, engineer, customer string
	templates                 map[string]string // kind → template id
}

func newNotifyWorld(t *testing.T) *notifyWorld {
	t.Helper()
	w := &notifyWorld{API: testenv.Setup(t, functions.Mount)}
	w.Sim.SetMessageURL(w.MessageURL())
	w.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: notifyApp, Name: "Acme Service", UserName: "gh_acme00n1",
		PrincipalName: "Acme Ltd", HeadImg: "https://img.example/a.png", Signature: "Acme after-sales", MiniProgram: true,
		Permissions: []int{17, 18, 30},
		Categories:  []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	w.admin = w.Staff("acme", "admin-1", staffauth.RoleAdmin)
	w.Must(w.Authorize(w.admin, notifyApp), 200)
	w.Must(w.Do("PUT", "/admin/engineers/eng-wang", w.admin, map[string]any{"display_name": "王伟", "skills": []string{"repair"},
		"version": 0}), 201)
	w.engineer = w.Staff("acme", "eng-wang", staffauth.RoleEngineer)
	w.customer = w.login("openid-n1")
	return w
}

// login signs openid in through the trial version of acme's mini program.
func (w *notifyWorld) login(openid string) string {
	code := w.Sim.IssueJSCode(notifyApp, openid, "")
	return w.Must(w.Do("POST", "/portal/login", "", map[string]any{"code": code, "appid": notifyApp, "env_version": "trial"}), 200).
		Str("session_token")
}

// prepare runs the release pipeline's preparation and returns its
// subscribe_templates step.
func (w *notifyWorld) prepare() map[string]any {
	w.T.Helper()
	steps := w.Must(w.Do("POST", "/admin/miniprogram/prepare", w.admin, nil), 200).Body["steps"].([]any)
	for _, s := range steps {
		if m := s.(map[string]any); m["step"] == "subscribe_templates" {
			return m
		}
	}
	w.T.Fatalf("no subscribe_templates step in %v", steps)
	return nil
}

// subscriptions reads the user's subscriptions from GET /portal/me: kind
// → grants, and the templates by kind.
func (w *notifyWorld) grants(session string) map[string]int {
	w.T.Helper()
	me := w.Must(w.Do("GET", "/portal/me", session, nil), 200)
	out := map[string]int{}
	for _, s := range me.Body["subscriptions"].(map[string]any)["templates"].([]any) {
		m := s.(map[string]any)
		out[m["kind"].(string)] = int(m["grants"].(float64))
	}
	return out
}

// move has the engineer move order id to status.
func (w *notifyWorld) move(id, status string, extra map[string]any) {
	w.T.Helper()
	body := map[string]any{"status": status}
	maps.Copy(body, extra)
	w.Must(w.Do("POST", "/engineer/work-orders/"+id+"/status", w.engineer, body), 200)
}

// feed is the customer's in-app feed.
func (w *notifyWorld) feed(session string) testenv.Reply {
	return w.Must(w.Do("GET", "/portal/notifications", session, nil), 200)
}

// TestNotificationStory is the story of issue "customers hear back":
// preparation adds the templates, the customer accepts two, the engineer
// accepts the order (message sent with the right values), sets off (no
// grant: only the feed), completes (completed message sent; the rating
// request is not sent for want of a grant but is in the feed). A
// repeated event sends nothing twice; a grant WeChat no longer has ends
// in 43101 and is zeroed; a 47003 reaches the admin with its fix.
func TestNotificationStory(t *testing.T) {
	w := newNotifyWorld(t)
	ctx := context.Background()

	// Preparation finds the four library titles in the mini program's
	// categories and adds them; again, it adds nothing.
	step := w.prepare()
	if step["status"] != "done" || !strings.Contains(step["detail"].(string), "4 of 4") {
		t.Fatalf("subscribe_templates step %v", step)
	}
	if n := w.Sim.Calls("addtemplate"); n != 4 {
		t.Fatalf("addtemplate called %d times", n)
	}
	if step = w.prepare(); step["status"] != "done" || w.Sim.Calls("addtemplate") != 4 {
		t.Fatalf("second preparation %v, addtemplate %d", step, w.Sim.Calls("addtemplate"))
	}

	// The order's answer says which templates to ask for: the first three
	// kinds, in order.
	created := w.Must(w.Do("POST", "/portal/work-orders", w.customer, workOrderBody(31.2304, 121.4737)), 201)
	id := created.Str("work_order", "id")
	w.templates = map[string]string{}
	subs := w.Must(w.Do("GET", "/portal/subscriptions", w.customer, nil), 200)
	for _, s := range subs.Body["templates"].([]any) {
		m := s.(map[string]any)
		w.templates[m["kind"].(string)] = m["template_id"].(string)
	}
	next := created.Body["subscribe"].(map[string]any)["request_next"].([]any)
	want := []any{w.templates["accepted"], w.templates["on_the_way"], w.templates["completed"]}
	if !slices.Equal(next, want) {
		t.Fatalf("request_next %v, want %v", next, want)
	}

	// The customer accepts "accepted" and "completed", rejects "on the
	// way" (WeChat records the grants; the mini program reports them).
	for _, kind := range []string{"accepted", "completed"} {
		if err := w.Sim.GrantSubscription(notifyApp, "openid-n1", w.templates[kind], 1); err != nil {
			t.Fatal(err)
		}
	}
	answer := map[string]any{w.templates["accepted"]: "accept", w.templates["completed"]: "accept",
		w.templates["on_the_way"]: "reject", "errMsg": "requestSubscribeMessage:ok"}
	w.Must(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": answer}), 200)
	if g := w.grants(w.customer); g["accepted"] != 1 || g["completed"] != 1 || g["on_the_way"] != 0 || g["rate"] != 0 {
		t.Fatalf("grants %v", g)
	}
	// Hostile answers: a template of no notification, too many, a bad word.
	w.MustError(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": map[string]any{"otherTemplate1": "accept"}}),
		400, "unknown_template")
	w.MustError(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": map[string]any{"a": "accept", "b": "accept",
		"c": "accept", "d": "accept"}}), 400, "invalid_field")
	w.MustError(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": map[string]any{w.templates["rate"]: "yes"}}),
		400, "invalid_field")

	// The engineer accepts: the "accepted" message goes out with the
	// order's values, opening the order in the trial version.
	w.Must(w.Do("POST", "/engineer/work-orders/"+id+"/accept", w.engineer, nil), 200)
	w.PumpEvents()
	sent := w.Sim.SubscribeMessages(notifyApp)
	if len(sent) != 1 {
		t.Fatalf("sent %d messages after accept; feed %s", len(sent), w.feed(w.customer).Raw)
	}
	m := sent[0]
	if m.ToUser != "openid-n1" || m.TemplateID != w.templates["accepted"] || m.Page != "pages/order/detail?id="+id || m.State != "trial" {
		t.Fatalf("accepted message %+v", m)
	}
	values := slices.Collect(maps.Values(m.Data))
	for _, want := range []string{id, "repair", "已受理"} {
		if !slices.Contains(values, want) {
			t.Errorf("accepted message lacks %q: %v", want, m.Data)
		}
	}
	local := w.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
	if !slices.Contains(values, local) {
		t.Errorf("accepted message's time is not Shanghai's %s: %v", local, m.Data)
	}
	if left := w.Sim.GrantsLeft(notifyApp, "openid-n1", w.templates["accepted"]); left != 0 {
		t.Fatalf("WeChat grants left %d", left)
	}
	if g := w.grants(w.customer); g["accepted"] != 0 || g["completed"] != 1 {
		t.Fatalf("grants after the send %v", g)
	}

	// On the way: no grant, so only the feed has it.
	w.move(id, "en_route", map[string]any{"eta": w.Clock.Now().Add(40 * time.Minute).Unix()})
	w.move(id, "in_progress", nil)
	w.move(id, "completed", map[string]any{"note": "Replaced the relay"})
	w.PumpEvents()
	sent = w.Sim.SubscribeMessages(notifyApp)
	if len(sent) != 2 || sent[1].TemplateID != w.templates["completed"] {
		t.Fatalf("after completion: %+v", sent)
	}
	feed := w.feed(w.customer)
	notes := feed.Body["notifications"].([]any)
	kinds, states := []string{}, map[string]string{}
	for _, n := range notes {
		nm := n.(map[string]any)
		kinds = append(kinds, nm["kind"].(string))
		states[nm["kind"].(string)] = nm["wechat"].(string)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"accepted", "completed", "on_the_way", "rate"}) || feed.Body["unread"].(float64) != 4 {
		t.Fatalf("feed %s", feed.Raw)
	}
	if states["accepted"] != "sent" || states["completed"] != "sent" || states["on_the_way"] != "no_grant" || states["rate"] != "no_grant" {
		t.Fatalf("feed states %v", states)
	}

	// The same completion event again (SQS delivers at least once):
	// nothing is sent twice, the feed does not grow.
	q, _ := w.EventsQueueURLs()
	body := eventBody(t, w, id, "work_order.completed")
	if _, err := w.SQS().NewClient().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String(body),
		MessageGroupId: aws.String("acme:notify#" + id), MessageDeduplicationId: aws.String("again-1")}); err != nil {
		t.Fatal(err)
	}
	if n := w.PumpEvents(); n != 1 {
		t.Fatalf("the repeated event reached the consumer %d times", n)
	}
	if len(w.Sim.SubscribeMessages(notifyApp)) != 2 || len(w.feed(w.customer).Body["notifications"].([]any)) != 4 {
		t.Fatal("a repeated event sent again or added to the feed")
	}

	// Read: one note, then all.
	first := notes[0].(map[string]any)["id"].(string)
	if r := w.Must(w.Do("POST", "/portal/notifications/read", w.customer, map[string]any{"ids": []string{first, first}}), 200); r.Body["unread"].(float64) != 3 {
		t.Fatalf("after one read %s", r.Raw)
	}
	w.Must(w.Do("POST", "/portal/notifications/read", w.customer, map[string]any{"ids": []string{first}}), 200)
	if r := w.Must(w.Do("POST", "/portal/notifications/read", w.customer, map[string]any{"all": true}), 200); r.Body["unread"].(float64) != 0 {
		t.Fatalf("after all read %s", r.Raw)
	}
	if f := w.feed(w.customer); f.Body["unread"].(float64) != 0 || f.Body["notifications"].([]any)[3].(map[string]any)["read"] != true {
		t.Fatalf("feed after reading %s", f.Raw)
	}
	w.MustError(w.Do("POST", "/portal/notifications/read", w.customer, map[string]any{"ids": []string{"x"}}), 400, "invalid_field")
	// Another tenant's customer sees none of it.
	other := w.Must(w.Login(w.Must(w.Do("POST", "/admin/qr-scenes", w.Staff("globex", "admin-9", staffauth.RoleAdmin),
		map[string]any{}), 201).Str("scene"), "openid-globex"), 200).Str("session_token")
	if f := w.feed(other); len(f.Body["notifications"].([]any)) != 0 {
		t.Fatalf("another tenant's customer sees %s", f.Raw)
	}

	// 43101: the mini program reported an accept WeChat does not have
	// (the user backed out). The send fails, the grant is zeroed.
	second := w.Must(w.Do("POST", "/portal/work-orders", w.customer, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	w.Must(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": map[string]any{w.templates["on_the_way"]: "accept"}}), 200)
	w.Must(w.Do("POST", "/engineer/work-orders/"+second+"/accept", w.engineer, nil), 200)
	w.move(second, "en_route", nil)
	w.PumpEvents()
	if len(w.Sim.SubscribeMessages(notifyApp)) != 2 {
		t.Fatal("a message went out without a grant")
	}
	if g := w.grants(w.customer); g["on_the_way"] != 0 {
		t.Fatalf("grant after 43101 %v", g)
	}

	// 47003: WeChat refuses a value; the admin sees it with its fix.
	third := w.Must(w.Do("POST", "/portal/work-orders", w.customer, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	if err := w.Sim.GrantSubscription(notifyApp, "openid-n1", w.templates["accepted"], 1); err != nil {
		t.Fatal(err)
	}
	w.Must(w.Do("POST", "/portal/subscriptions", w.customer, map[string]any{"results": map[string]any{w.templates["accepted"]: "accept"}}), 200)
	w.Sim.InjectError("subscribe_send", 47003, 1)
	w.Must(w.Do("POST", "/engineer/work-orders/"+third+"/accept", w.engineer, nil), 200)
	w.PumpEvents()
	page := w.Must(w.Do("GET", "/admin/notifications", w.admin, nil), 200)
	stats := page.Body["stats"].(map[string]any)
	totals := stats["totals"].(map[string]any)
	if totals["sent"] != 2.0 || totals["failed"] != 1.0 || totals["no_grant"] != 4.0 || stats["by_reason"].(map[string]any)["47003"] != 1.0 {
		t.Fatalf("stats %v", stats)
	}
	problem := stats["last_problem"].(map[string]any)
	if problem["errcode"] != 47003.0 || problem["kind"] != "accepted" || !strings.Contains(problem["fix"].(string), "prepare") {
		t.Fatalf("problem %v", problem)
	}
	if g := w.grants(w.customer); g["accepted"] != 1 {
		t.Fatalf("a refused send used the grant: %v", g)
	}

	// The admin turns the rating request off, with the version read.
	w.MustError(w.Do("PUT", "/admin/notifications/settings", w.admin, map[string]any{"off": []string{"rate"}, "version": 3}), 409,
		"version_conflict")
	w.MustError(w.Do("PUT", "/admin/notifications/settings", w.admin, map[string]any{"off": []string{"gossip"}, "version": 0}), 400,
		"invalid_field")
	w.Must(w.Do("PUT", "/admin/notifications/settings", w.admin, map[string]any{"off": []string{"rate"}, "version": 0}), 200)
	if next := w.Must(w.Do("GET", "/portal/subscriptions", w.customer, nil), 200).Body["request_next"].([]any); slices.Contains(next, any(w.templates["rate"])) {
		t.Fatalf("a kind turned off is still requested: %v", next)
	}
}

// eventBody is the stored body of order id's event of type typ, from the
// tenant's feed.
func eventBody(t *testing.T, w *notifyWorld, id, typ string) string {
	t.Helper()
	w.Clock.Advance(2 * time.Minute) // the feed shows settled events
	feed := w.Must(w.Do("GET", "/admin/events?types="+typ, w.admin, nil), 200)
	for _, raw := range feed.Body["events"].([]any) {
		ev := raw.(map[string]any)
		if ev["entity"].(map[string]any)["id"] == id {
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			return string(raw)
		}
	}
	t.Fatalf("no %s event of %s in %s", typ, id, feed.Raw)
	return ""
}

// TestNotificationRetryAndTimeoutOnThePublicMiniProgram: the reconcile
// job sets the public mini program's templates up; a customer of the
// public mini program hears the engineer is on the way after WeChat's
// daily quota (45009) made the first send wait for the queue's retry;
// a send that times out (it may have reached WeChat) is never repeated.
func TestNotificationRetryAndTimeoutOnThePublicMiniProgram(t *testing.T) {
	a := testenv.SetupWith(t, functions.Mount, func(env *testenv.Env) {
		d := env.Deps
		env.Deps = app.New(d.Config, d.Log, d.DB, d.Secrets, d.Now, &http.Client{Timeout: 300 * time.Millisecond})
	})
	ctx := context.Background()
	if _, err := a.Jobs["auditreconcile"].Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.Sim.Calls("addtemplate"); n != 4 {
		t.Fatalf("the public mini program's templates: addtemplate %d", n)
	}
	if _, err := a.Jobs["auditreconcile"].Run(ctx); err != nil || a.Sim.Calls("addtemplate") != 4 || a.Sim.Calls("gettemplate") != 1 {
		t.Fatalf("a second run set the templates up again (%v)", err)
	}
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	a.Must(a.Do("PUT", "/admin/engineers/eng-wang", admin, map[string]any{"display_name": "王伟", "skills": []string{"repair"},
		"version": 0}), 201)
	engineer := a.Staff("acme", "eng-wang", staffauth.RoleEngineer)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	session := a.Must(a.Login(scene, "openid-p1"), 200).Str("session_token")
	subs := a.Must(a.Do("GET", "/portal/subscriptions", session, nil), 200)
	onTheWay := ""
	for _, s := range subs.Body["templates"].([]any) {
		if m := s.(map[string]any); m["kind"] == "on_the_way" {
			onTheWay = m["template_id"].(string)
		}
	}
	if onTheWay == "" {
		t.Fatalf("no on_the_way template for the public mini program: %s", subs.Raw)
	}
	if err := a.Sim.GrantSubscription(testenv.PublicAppID, "openid-p1", onTheWay, 2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a.Must(a.Do("POST", "/portal/subscriptions", session, map[string]any{"results": map[string]any{onTheWay: "accept"}}), 200)
	}
	id := a.Must(a.Do("POST", "/portal/work-orders", session, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", engineer, nil), 200)
	eta := a.Clock.Now().Add(40 * time.Minute)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "en_route", "eta": eta.Unix()}), 200)

	// 45009: WeChat takes nothing today; the queue brings the message back.
	a.Sim.InjectError("subscribe_send", 45009, 1)
	a.PumpEvents()
	if n := len(a.Sim.SubscribeMessages(testenv.PublicAppID)); n != 0 {
		t.Fatalf("%d messages despite the quota", n)
	}
	a.Clock.Advance(40 * time.Second)
	a.PumpEvents()
	sent := a.Sim.SubscribeMessages(testenv.PublicAppID)
	if len(sent) != 1 || sent[0].TemplateID != onTheWay || sent[0].State != "formal" {
		t.Fatalf("after the retry: %+v", sent)
	}
	values := slices.Collect(maps.Values(sent[0].Data))
	arrival := eta.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
	for _, want := range []string{id, "已出发", "王伟", arrival} {
		if !slices.Contains(values, want) {
			t.Errorf("on-the-way message lacks %q: %v", want, sent[0].Data)
		}
	}
	a.Clock.Advance(10 * time.Minute)
	a.PumpEvents()
	if n := a.Sim.Calls("subscribe_send"); n != 2 {
		t.Fatalf("subscribe_send called %d times for one message and one retry", n)
	}

	// A send that times out may have reached WeChat: never sent again.
	second := a.Must(a.Do("POST", "/portal/work-orders", session, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/accept", engineer, nil), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/status", engineer, map[string]any{"status": "en_route"}), 200)
	a.Sim.InjectDelay("subscribe_send", time.Second, 1)
	a.PumpEvents()
	a.Clock.Advance(3 * time.Hour)
	a.PumpEvents()
	session = a.Must(a.Login(scene, "openid-p1"), 200).Str("session_token")
	if n := a.Sim.Calls("subscribe_send"); n != 3 {
		t.Fatalf("subscribe_send called %d times: a send that timed out was repeated", n)
	}
	feed := a.Must(a.Do("GET", "/portal/notifications", session, nil), 200)
	states := map[string]string{}
	for _, n := range feed.Body["notifications"].([]any) {
		m := n.(map[string]any)
		states[m["work_order_id"].(string)+"/"+m["kind"].(string)] = m["wechat"].(string)
	}
	if states[id+"/on_the_way"] != "sent" || states[second+"/on_the_way"] != "unknown" || states[id+"/accepted"] != "no_grant" {
		t.Fatalf("feed states %v", states)
	}
}

// TestSenderOnEveryDynamoDB drives the sender itself with work-order
// events, without the event pipeline, so that its writes (the claim
// transaction, the state moves, the nested counters) also run on the
// second DynamoDB implementation (.ci/moto-e2e): a send, the same event
// again (nothing twice), WeChat busy (-1: the note waits in retry and a
// later delivery of the message sends it once), and the counters.
func TestSenderOnEveryDynamoDB(t *testing.T) {
	a := testenv.Setup(t, functions.Mount)
	ctx := context.Background()
	if _, err := a.Jobs["auditreconcile"].Run(ctx); err != nil {
		t.Fatal(err)
	}
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	login := a.Must(a.Login(scene, "openid-s1"), 200)
	session, userID := login.Str("session_token"), login.Str("user", "user_id")
	templates := map[string]string{}
	for _, s := range a.Must(a.Do("GET", "/portal/subscriptions", session, nil), 200).Body["templates"].([]any) {
		m := s.(map[string]any)
		templates[m["kind"].(string)] = m["template_id"].(string)
	}
	for _, kind := range []string{"accepted", "completed"} {
		if err := a.Sim.GrantSubscription(testenv.PublicAppID, "openid-s1", templates[kind], 1); err != nil {
			t.Fatal(err)
		}
		a.Must(a.Do("POST", "/portal/subscriptions", session, map[string]any{"results": map[string]any{templates[kind]: "accept"}}), 200)
	}
	sender := notify.NewSender(notify.NewStore(a.DB), a.Deps.WeChat, tokens.FromDeps(a.Deps), testenv.PublicAppID, a.Deps.Log, a.Clock.Now)
	event := func(id, typ string) notify.Message {
		body, err := json.Marshal(map[string]any{"id": id, "type": typ, "tenant_id": "acme", "occurred_at": a.Clock.Now(),
			"data": map[string]any{"id": "261124aaaabbbbcccc", "category": "repair", "customer_id": userID, "engineer_name": "王伟"}})
		if err != nil {
			t.Fatal(err)
		}
		return notify.Message{Body: string(body), Attempt: 1, QueuedAt: a.Clock.Now()}
	}
	accepted := event("ev_0000000000010000000000000001", "work_order.accepted")
	for range 2 {
		if settled, err := sender.Send(ctx, accepted); err != nil || !settled {
			t.Fatalf("accepted: settled %v, %v", settled, err)
		}
	}
	if n := a.Sim.Calls("subscribe_send"); n != 1 || len(a.Sim.SubscribeMessages(testenv.PublicAppID)) != 1 {
		t.Fatalf("the same event sent %d times", n)
	}

	// Busy: the client's own retries meet -1 each time; the note waits.
	completed := event("ev_0000000000020000000000000002", "work_order.completed")
	a.Sim.InjectError("subscribe_send", -1, 10)
	if settled, err := sender.Send(ctx, completed); err != nil || settled {
		t.Fatalf("completed while WeChat is busy: settled %v, %v", settled, err)
	}
	a.Sim.ClearFaults()
	if settled, err := sender.Send(ctx, completed); err != nil || !settled {
		t.Fatalf("completed again: settled %v, %v", settled, err)
	}
	sent := a.Sim.SubscribeMessages(testenv.PublicAppID)
	if len(sent) != 2 || sent[1].TemplateID != templates["completed"] {
		t.Fatalf("sent %+v", sent)
	}
	stats := a.Must(a.Do("GET", "/admin/notifications", admin, nil), 200).Body["stats"].(map[string]any)
	totals, byKind := stats["totals"].(map[string]any), stats["by_kind"].(map[string]any)
	if totals["sent"] != 2.0 || totals["no_grant"] != 1.0 || byKind["rate.no_grant"] != 1.0 || byKind["completed.sent"] != 1.0 {
		t.Fatalf("stats %v", stats)
	}
	feed := a.Must(a.Do("GET", "/portal/notifications?limit=2", session, nil), 200)
	if len(feed.Body["notifications"].([]any)) != 2 || feed.Body["unread"] != 3.0 || feed.Str("next_cursor") == "" {
		t.Fatalf("feed page 1 %s", feed.Raw)
	}
	rest := a.Must(a.Do("GET", "/portal/notifications?limit=2&cursor="+feed.Str("next_cursor"), session, nil), 200)
	if len(rest.Body["notifications"].([]any)) != 1 {
		t.Fatalf("feed page 2 %s", rest.Raw)
	}
	a.MustError(a.Do("GET", "/portal/notifications?cursor=bm90LWEtbm90ZQ", session, nil), 400, "invalid_field")
}
