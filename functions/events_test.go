package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/webhook/receiver"
)

// crm is a tenant's CRM as the tests see it: its webhook receiver, and the
// admin who configured it.
type crm struct {
	*testenv.API
	recv   *receiver.Receiver
	url    string
	admin  string
	secret string
}

// newCRM starts the product and a CRM receiver for tenant acme, whose
// admin sets the webhook with the CRM's own secret.
func newCRM(t *testing.T) *crm {
	t.Helper()
	a := testenv.Setup(t, functions.Mount)
	c := &crm{API: a, admin: a.Staff("acme", "admin-1", staffauth.RoleAdmin), secret: "whsec_acme-crm-shared-secret-0001"}
	c.recv, c.url = startCRM(a, c.admin, c.secret)
	return c
}

// startCRM starts a CRM's webhook receiver, verifying with secret, and has
// the tenant's admin point the tenant's webhook at it; it returns the
// receiver and the webhook's URL.
func startCRM(a *testenv.API, admin, secret string) (*receiver.Receiver, string) {
	a.T.Helper()
	recv := receiver.New([]byte(secret))
	recv.SetClock(a.Clock.Now)
	srv := httptest.NewServer(recv)
	a.T.Cleanup(srv.Close)
	url := srv.URL + "/hooks/wxchannel"
	a.Must(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": url, "secret": secret, "version": 0}), 201)
	return recv, url
}

// customer logs a customer of acme in and returns their session.
func (c *crm) customer(openid string) string {
	scene := c.Must(c.Do("POST", "/admin/qr-scenes", c.admin, map[string]any{}), 201).Str("scene")
	return c.Must(c.Login(scene, openid), 200).Str("session_token")
}

func workOrderBody(lat, lng float64) map[string]any {
	return map[string]any{"category": "repair", "description": "The compressor makes a grinding noise",
		"contact_name": "Li Lei", "phone": "13800138000", "address": "88 Century Avenue, Pudong, Shanghai",
		"latitude": lat, "longitude": lng}
}

// received is the events the CRM accepted (2xx), each once, in the order
// they first arrived, decoded.
func (c *crm) received() []outbox.Event {
	c.T.Helper()
	seen := map[string]bool{}
	var out []outbox.Event
	for _, d := range slices.Backward(c.recv.Deliveries()) { // newest first
		if d.Status < 200 || d.Status > 299 || seen[d.EventID] {
			continue
		}
		if !d.Verified {
			c.T.Errorf("delivery of %s accepted unverified: %s", d.EventID, d.VerifyError)
		}
		seen[d.EventID] = true
		var ev outbox.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			c.T.Fatalf("delivery %s: %v", d.EventID, err)
		}
		out = append(out, ev)
	}
	return out
}

// typesOf lists the types of the events about one work order (its visits'
// included), in the order received.
func typesOf(evs []outbox.Event, workOrderID string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Entity.ID == workOrderID || strings.Contains(string(ev.Data), `"work_order_id":"`+workOrderID+`"`) {
			out = append(out, ev.Type)
		}
	}
	return out
}

// serviceVisit takes an accepted order through a visit to completion.
func (c *crm) serviceVisit(engineer, id string, lat, lng float64) {
	site := map[string]any{"latitude": lat, "longitude": lng}
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "en_route"}), 200)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/check-in", engineer, site), 201)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "in_progress"}), 200)
	c.Clock.Advance(time.Hour)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/check-out", engineer, site), 200)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "completed"}), 200)
}

func TestEveryChangeReachesTheCRMSignedInOrderAndTheFeedAgrees(t *testing.T) {
	c := newCRM(t)
	engineer := c.Staff("acme", "eng-7", staffauth.RoleEngineer)
	session := c.customer("openid-li")

	id := c.Must(c.Do("POST", "/portal/work-orders", session, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/accept", engineer, nil), 200)
	c.serviceVisit(engineer, id, 31.2306, 121.4739)
	c.Must(c.Do("POST", "/portal/work-orders/"+id+"/rating", session, map[string]any{"stars": 5, "comment": "Quick and tidy"}), 200)
	// A second customer's order, cancelled: its own group.
	other := c.Must(c.Do("POST", "/portal/work-orders", c.customer("openid-han"), workOrderBody(31.3, 121.5)), 201).Str("work_order", "id")
	c.Must(c.Do("POST", "/portal/work-orders/"+other+"/cancel", c.customer("openid-han"), nil), 200)
	// A refused change writes no event.
	c.Must(c.Do("POST", "/portal/work-orders/"+id+"/rating", session, map[string]any{"stars": 1}), 409)

	c.PumpEvents()
	got := c.received()
	want := []string{outbox.WorkOrderCreated, outbox.WorkOrderAccepted, outbox.WorkOrderEnRoute, outbox.WorkOrderCheckedIn,
		outbox.WorkOrderInProgress, outbox.WorkOrderCheckedOut, outbox.WorkOrderCompleted, outbox.WorkOrderRated}
	if types := typesOf(got, id); !slices.Equal(types, want) {
		t.Fatalf("the CRM got %v for the order, want %v", types, want)
	}
	if types := typesOf(got, other); !slices.Equal(types, []string{outbox.WorkOrderCreated, outbox.WorkOrderCancelled}) {
		t.Fatalf("the CRM got %v for the cancelled order", types)
	}
	if len(got) != 10 {
		t.Fatalf("the CRM got %d events, want 10 (one per change)", len(got))
	}
	// Each work-order event carries the order as stored, its version one
	// more than the last.
	last := 0
	for _, ev := range got {
		if ev.Entity.ID != id || ev.Entity.Type != outbox.EntityWorkOrder {
			continue
		}
		if ev.Entity.Version != last+1 {
			t.Errorf("%s carries version %d after %d", ev.Type, ev.Entity.Version, last)
		}
		last = ev.Entity.Version
		var snap struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Status  string `json:"status"`
		}
		if err := json.Unmarshal(ev.Data, &snap); err != nil || snap.ID != id || snap.Version != ev.Entity.Version {
			t.Errorf("%s snapshot %s", ev.Type, ev.Data)
		}
		if ev.TenantID != "acme" || !outbox.ValidID(ev.ID) {
			t.Errorf("envelope %+v", ev)
		}
	}
	validateAgainstSchema(t, got)

	// The status page counts what was delivered.
	st := c.Must(c.Do("GET", "/admin/events/status", c.admin, nil), 200)
	if st.Get("delivered") != float64(10) || st.Get("backlog") != float64(0) || st.Get("webhook_configured") != true {
		t.Fatalf("status %s", st.Raw)
	}

	// The feed shows the same events a minute later, oldest first, a page
	// at a time, and the cursor comes back empty-handed until more happen.
	c.Clock.Advance(outbox.Settle + time.Second)
	var fed []string
	cursor := ""
	for range 10 {
		page := c.Must(c.Do("GET", "/admin/events?limit=3&after="+cursor, c.admin, nil), 200)
		for _, e := range page.Body["events"].([]any) {
			fed = append(fed, e.(map[string]any)["id"].(string))
		}
		cursor = page.Str("next")
		if page.Body["more"] != true {
			break
		}
	}
	var pushed []string
	for _, ev := range got {
		pushed = append(pushed, ev.ID)
	}
	slices.Sort(pushed)
	sortedFed := slices.Sorted(slices.Values(fed))
	if !slices.Equal(sortedFed, pushed) {
		t.Fatalf("the feed has %v, the webhook got %v", fed, pushed)
	}
	again := c.Must(c.Do("GET", "/admin/events?after="+cursor, c.admin, nil), 200)
	if len(again.Body["events"].([]any)) != 0 || again.Str("next") != cursor {
		t.Fatalf("a caught-up cursor got %s", again.Raw)
	}
	onlyCreated := c.Must(c.Do("GET", "/admin/events?types=work_order.created", c.admin, nil), 200)
	if n := len(onlyCreated.Body["events"].([]any)); n != 2 {
		t.Fatalf("types filter: %d events, want 2", n)
	}
	// Tenant-scoped: another tenant's admin sees none of it.
	globex := c.Must(c.Do("GET", "/admin/events", c.Staff("globex", "admin-9", staffauth.RoleAdmin), nil), 200)
	if len(globex.Body["events"].([]any)) != 0 {
		t.Fatalf("cross-tenant feed %s", globex.Raw)
	}
	c.MustError(c.Do("GET", "/admin/events", engineer, nil), 403, "forbidden_role")
	c.MustError(c.Do("GET", "/admin/events?after=bm90LWEtY3Vyc29y", c.admin, nil), 400, "invalid_field")
	c.MustError(c.Do("GET", "/admin/events?types=work_order.exploded", c.admin, nil), 400, "invalid_field")
}

func TestRegistrationDecisionsReachTheCRM(t *testing.T) {
	c := newCRM(t)
	c.Must(c.Do("PUT", "/admin/portal/settings", c.admin, map[string]any{"guest_access": true, "invitation_codes": false,
		"serial_registration": true, "max_checkin_distance_m": 500, "version": 0}), 200)
	session := c.customer("openid-reg")
	pending := c.Must(c.Do("POST", "/portal/registration/device", session, map[string]any{"device_sn": "AC-2024-0042",
		"latitude": 31.2, "longitude": 121.4, "address": "1 Lujiazui Ring Road"}), 202)
	c.Must(c.Do("POST", "/admin/registrations/"+pending.Str("id")+"/approve", c.admin,
		map[string]any{"version": pending.Get("version"), "customer_id": "cust-42"}), 204)
	rejected := c.customer("openid-rej")
	second := c.Must(c.Do("POST", "/portal/registration/device", rejected, map[string]any{"device_sn": "AC-2024-0043",
		"latitude": 31.2, "longitude": 121.4, "address": "2 Lujiazui Ring Road"}), 202)
	c.Must(c.Do("POST", "/admin/registrations/"+second.Str("id")+"/reject", c.admin,
		map[string]any{"version": second.Get("version"), "reason": "The serial number is not one of ours"}), 204)

	c.PumpEvents()
	got := c.received()
	var types []string
	for _, ev := range got {
		types = append(types, ev.Type)
	}
	if !slices.Equal(typesOf(got, pending.Str("id")), []string{outbox.RegistrationPending, outbox.RegistrationApproved}) ||
		!slices.Equal(typesOf(got, second.Str("id")), []string{outbox.RegistrationPending, outbox.RegistrationRejected}) {
		t.Fatalf("the CRM got %v", types)
	}
	for _, ev := range got {
		if ev.Type == outbox.RegistrationApproved && !strings.Contains(string(ev.Data), `"customer_id":"cust-42"`) {
			t.Errorf("approval %s lacks the customer", ev.Data)
		}
		if ev.Type == outbox.RegistrationRejected && !strings.Contains(string(ev.Data), "not one of ours") {
			t.Errorf("rejection %s lacks the reason", ev.Data)
		}
	}
	validateAgainstSchema(t, got)
}

func TestADayOfCRMDowntimeLosesNothing(t *testing.T) {
	c := newCRM(t)
	engineer := c.Staff("acme", "eng-7", staffauth.RoleEngineer)
	c.recv.SetDown(true)
	session := c.customer("openid-li")
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = c.Must(c.Do("POST", "/portal/work-orders", session, workOrderBody(31.23+float64(i)/10, 121.47)), 201).Str("work_order", "id")
		c.Must(c.Do("POST", "/engineer/work-orders/"+ids[i]+"/accept", engineer, nil), 200)
	}
	// The CRM is down for 23 hours; the product keeps trying, less and
	// less often, and never gives up on an event within a day.
	start := c.Clock.Now()
	for c.Clock.Now().Sub(start) < 23*time.Hour {
		c.PumpEvents()
		c.Clock.Advance(5 * time.Minute)
	}
	attempts := len(c.recv.Deliveries())
	if attempts == 0 || len(c.received()) != 0 {
		t.Fatalf("while down: %d attempts, %d accepted", attempts, len(c.received()))
	}
	// Far fewer calls than one per event per poll: retries back off, and a
	// failing CRM pauses the tenant's deliveries.
	if attempts > 6*20 {
		t.Errorf("%d calls to a CRM that was down for 23 hours, want at most 120 for 6 events", attempts)
	}
	c.admin = c.Staff("acme", "admin-1", staffauth.RoleAdmin) // a day later
	st := c.Must(c.Do("GET", "/admin/events/status", c.admin, nil), 200)
	if st.Get("backlog") != float64(6) || st.Get("last_failure", "status") != float64(503) {
		t.Fatalf("status while down %s", st.Raw)
	}
	c.recv.SetDown(false)
	for c.Clock.Now().Sub(start) < 26*time.Hour && len(c.received()) < 6 {
		c.Clock.Advance(5 * time.Minute)
		c.PumpEvents()
	}
	got := c.received()
	for _, id := range ids {
		if types := typesOf(got, id); !slices.Equal(types, []string{outbox.WorkOrderCreated, outbox.WorkOrderAccepted}) {
			t.Errorf("after the outage the CRM has %v for %s", types, id)
		}
	}
	c.admin = c.Staff("acme", "admin-1", staffauth.RoleAdmin)
	st = c.Must(c.Do("GET", "/admin/events/status", c.admin, nil), 200)
	if st.Get("delivered") != float64(6) || st.Get("dead_lettered") != float64(0) || st.Get("backlog") != float64(0) ||
		st.Get("consecutive_failures") != float64(0) {
		t.Fatalf("status after the outage %s", st.Raw)
	}
}

func TestPoisonEventIsDeadLetteredAndReplayedAfterTheFix(t *testing.T) {
	c := newCRM(t)
	session := c.customer("openid-li")
	poison := c.Must(c.Do("POST", "/portal/work-orders", session, workOrderBody(31.2304, 121.4737)), 201).Str("work_order", "id")
	healthy := c.Must(c.Do("POST", "/portal/work-orders", session, workOrderBody(31.3304, 121.4737)), 201).Str("work_order", "id")
	// The CRM chokes on the first order (a bug on its side) and takes the rest.
	c.recv.FailEvents(func(_ string, body []byte) int {
		if bytes.Contains(body, []byte(`"id":"`+poison+`"`)) {
			return 422
		}
		return 0
	})
	start := c.Clock.Now()
	for c.Clock.Now().Sub(start) < 27*time.Hour {
		c.PumpEvents()
		c.Clock.Advance(10 * time.Minute)
	}
	if types := typesOf(c.received(), healthy); !slices.Equal(types, []string{outbox.WorkOrderCreated}) {
		t.Fatalf("the healthy order was held up by the poison one: %v", types)
	}
	c.admin = c.Staff("acme", "admin-1", staffauth.RoleAdmin) // a day later
	st := c.Must(c.Do("GET", "/admin/events/status", c.admin, nil), 200)
	dead := st.Body["dead_letters"].([]any)
	if len(dead) != 1 || st.Get("dead_lettered") != float64(1) || st.Get("backlog") != float64(0) {
		t.Fatalf("status %s", st.Raw)
	}
	if d := dead[0].(map[string]any); d["type"] != outbox.WorkOrderCreated || d["failure"].(map[string]any)["status"] != float64(422) {
		t.Fatalf("dead letter %v", d)
	}
	// The CRM fixes its bug; the admin replays the dead letters.
	c.recv.FailEvents(nil)
	replay := c.Must(c.Do("POST", "/admin/events/replay", c.admin, map[string]any{"dead_letters": true}), 200)
	if replay.Get("replayed") != float64(1) || replay.Body["more"] != false {
		t.Fatalf("replay %s", replay.Raw)
	}
	c.PumpEvents()
	if types := typesOf(c.received(), poison); !slices.Equal(types, []string{outbox.WorkOrderCreated}) {
		t.Fatalf("after the replay the CRM has %v for the poison order", types)
	}
	st = c.Must(c.Do("GET", "/admin/events/status", c.admin, nil), 200)
	if len(st.Body["dead_letters"].([]any)) != 0 || st.Get("backlog") != float64(0) {
		t.Fatalf("status after the replay %s", st.Raw)
	}
	// A range replay sends every stored event of the period again, ids kept.
	before := len(c.recv.Deliveries())
	c.MustError(c.Do("POST", "/admin/events/replay", c.admin, map[string]any{"from": 0, "to": 1}), 400, "invalid_field")
	c.MustError(c.Do("POST", "/admin/events/replay", c.admin, map[string]any{"dead_letters": true, "from": 1, "to": 2}), 400, "replay_mixed")
	ranged := c.Must(c.Do("POST", "/admin/events/replay", c.admin, map[string]any{"from": start.Add(-time.Minute).Unix(), "to": c.Clock.Now().Unix()}), 200)
	if ranged.Get("replayed") != float64(2) {
		t.Fatalf("range replay %s", ranged.Raw)
	}
	c.PumpEvents()
	if n := len(c.recv.Deliveries()) - before; n != 2 {
		t.Fatalf("a range replay of 2 events made %d deliveries", n)
	}
}

func TestWebhookSettingsAndTestButton(t *testing.T) {
	a := testenv.Setup(t, functions.Mount)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	recv := receiver.New()
	recv.SetClock(a.Clock.Now)
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)

	a.MustError(a.Do("GET", "/admin/webhook", admin, nil), 404, "not_found")
	a.MustError(a.Do("POST", "/admin/webhook/test", admin, nil), 404, "not_found")
	a.MustError(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": "ftp://crm.example/hook", "version": 0}), 400, "invalid_field")
	a.MustError(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": srv.URL, "secret": "short", "version": 0}), 400, "invalid_field")
	a.MustError(a.Do("PUT", "/admin/webhook", a.Staff("acme", "eng-1", staffauth.RoleEngineer), map[string]any{"url": srv.URL}), 403, "forbidden_role")

	// Created without a secret: one is generated and shown this once.
	created := a.Must(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": srv.URL, "version": 0}), 201)
	first := created.Str("secret")
	if !strings.HasPrefix(first, "whsec_") || created.Get("version") != float64(1) {
		t.Fatalf("created %s", created.Raw)
	}
	shown := a.Must(a.Do("GET", "/admin/webhook", admin, nil), 200)
	if strings.Contains(shown.Raw, first) || shown.Str("secret_hint") != "…"+first[len(first)-4:] {
		t.Fatalf("the secret is shown again: %s", shown.Raw)
	}
	var item map[string]any
	if err := a.DB.Service.Get("pk", "tenant#acme").Range("sk", dynamo.Equal, "webhook").One(context.Background(), &item); err != nil {
		t.Fatal(err)
	}
	if sealed, _ := item["secret"].(string); sealed == "" || strings.Contains(sealed, first[6:]) {
		t.Fatalf("the webhook secret is stored as %q: not sealed", sealed)
	}
	recv.SetSecrets([]byte(first))
	ok := a.Must(a.Do("POST", "/admin/webhook/test", admin, nil), 200)
	if ok.Body["ok"] != true || ok.Get("status") != float64(200) {
		t.Fatalf("test delivery %s", ok.Raw)
	}
	if d := recv.Deliveries(); len(d) != 1 || !d[0].Verified || d[0].EventType != outbox.WebhookTest {
		t.Fatalf("the receiver got %+v", d)
	}

	// Rotating: the new secret signs at once, the old one for a day more,
	// so a CRM that still verifies with the old one keeps working.
	a.MustError(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": srv.URL, "rotate_secret": true, "version": 7}), 409, "webhook_changed")
	rotated := a.Must(a.Do("PUT", "/admin/webhook", admin, map[string]any{"url": srv.URL, "rotate_secret": true, "version": 1}), 200)
	second := rotated.Str("secret")
	if second == "" || second == first || rotated.Get("previous_secret_valid_until") == nil {
		t.Fatalf("rotated %s", rotated.Raw)
	}
	for _, secret := range []string{first, second} {
		recv.Reset()
		recv.SetSecrets([]byte(secret))
		if r := a.Must(a.Do("POST", "/admin/webhook/test", admin, nil), 200); r.Body["ok"] != true {
			t.Fatalf("a CRM verifying with one of the two secrets refused the test: %s", r.Raw)
		}
	}
	a.Clock.Advance(25 * time.Hour)
	admin = a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	recv.SetSecrets([]byte(first))
	if r := a.Must(a.Do("POST", "/admin/webhook/test", admin, nil), 200); r.Body["ok"] != false || r.Get("status") != float64(401) {
		t.Fatalf("the old secret still signs after a day: %s", r.Raw)
	}

	// A CRM that is down: the test says so, with the status.
	recv.SetDown(true)
	down := a.Must(a.Do("POST", "/admin/webhook/test", admin, nil), 200)
	if down.Body["ok"] != false || down.Get("status") != float64(503) || down.Str("error") == "" {
		t.Fatalf("test against a CRM that is down %s", down.Raw)
	}

	// Another tenant has none; deleting needs the version read.
	a.MustError(a.Do("GET", "/admin/webhook", a.Staff("globex", "admin-2", staffauth.RoleAdmin), nil), 404, "not_found")
	a.MustError(a.Do("DELETE", "/admin/webhook?version=1", admin, nil), 409, "webhook_changed")
	if r := a.Do("DELETE", "/admin/webhook?version=2", admin, nil); r.Status != 204 {
		t.Fatalf("delete %d %s", r.Status, r.Raw)
	}
	a.MustError(a.Do("GET", "/admin/webhook", admin, nil), 404, "not_found")
}

// validateAgainstSchema checks events against docs/events.schema.json,
// which must define every event type.
func validateAgainstSchema(t *testing.T, evs []outbox.Event) {
	t.Helper()
	raw, err := os.ReadFile("../docs/events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defs := doc.(map[string]any)["$defs"].(map[string]any)
	for _, typ := range append(slices.Clone(outbox.Types), outbox.WebhookTest) {
		if defs[typ] == nil {
			t.Errorf("docs/events.schema.json defines no %s", typ)
		}
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("events.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := comp.Compile("events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		body, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s does not match the schema: %v\n%s", ev.Type, err, body)
		}
	}
}
