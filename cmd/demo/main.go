// Command demo walks through the whole product over HTTP against a running
// dev server (`make run`): WeChat pushes a verify ticket, the tenant's admin
// connects the enterprise mini program, our platform prepares it, submits it
// for review and releases it, then a customer logs in, registers and asks
// for service, an engineer nearby takes the job, checks in and out on site,
// the customer rates it and the engineer's mileage is computed.
//
// The people and systems on WeChat's side (the admin scanning the link, the
// mini program's wx.login, WeChat's reviewers) are played through the
// simulator's console (/sim/...); the admin's browser on our start page
// follows the page's link and Referrer-Policy as a browser does; everything
// else is our real API.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/browser"
	"wxchannel/shared/local/stack"
)

func main() {
	os.Exit(walkthrough())
}

// walkthrough runs the story against the dev server the flags name and
// returns the process's exit code; it returns rather than exits so that the
// interrupt handler is stopped first.
func walkthrough() int {
	api := flag.String("api", defaultAPI(os.Getenv), "base URL of the dev server (DEMO_API; else http:// and DEV_ADDR, as `make run` was told)")
	flag.Parse()
	fmt.Printf("demo: against %s\n", *api)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, *api, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	return 0
}

// defaultAPI finds the dev server the way `make run` was told where to
// listen: DEMO_API when set, else DEV_ADDR, else the dev server's default.
func defaultAPI(getenv func(string) string) string {
	if v := getenv("DEMO_API"); v != "" {
		return v
	}
	if v := getenv("DEV_ADDR"); v != "" {
		return "http://" + v
	}
	return "http://127.0.0.1:8080"
}

// Run drives the story against the dev server at api and prints each step.
func Run(ctx context.Context, api string, out io.Writer) error {
	d := &demo{ctx: ctx, api: strings.TrimRight(api, "/"), out: out, http: &http.Client{Timeout: 30 * time.Second}}
	d.client = apiclient.Client{Base: d.api, HTTP: d.http}
	if err := d.devInfo(); err != nil {
		return fmt.Errorf("no dev server at %s (start it with `make run`): %w", d.api, err)
	}
	if d.info.WeChatSimulator == "" {
		return errors.New("the dev server talks to an external WeChat API; the walkthrough needs the simulator")
	}
	d.run = suffix()
	for _, step := range []func() error{d.platform, d.authorize, d.release, d.customer, d.engineer, d.followUp} {
		if err := step(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nDone: %d steps, every one through the real handlers.\n", d.n)
	return nil
}

type demo struct {
	ctx    context.Context
	api    string
	out    io.Writer
	http   *http.Client
	client apiclient.Client
	info   stack.Info
	run    string
	n      int

	appid       string
	session     string
	openid      string
	publicUser  string
	orderID     string
	secondOrder string
}

// The customer's site (Pudong, Shanghai) and a second one 10 km north.
const (
	siteLat, siteLng     = 31.2304, 121.4737
	secondLat, secondLng = 31.3204, 121.4737
)

// loginRequest is the body of POST /portal/login: a wx.login code and
// either the enterprise mini program's appid or, in the public mini
// program, the tenant's QR scene.
type loginRequest struct {
	Code  string `json:"code"`
	AppID string `json:"appid,omitempty"`
	Scene string `json:"scene,omitempty"`
}

// workOrderRequest is the body of POST /portal/work-orders.
type workOrderRequest struct {
	Category    string  `json:"category"`
	Description string  `json:"description"`
	DeviceSN    string  `json:"device_sn"`
	ContactName string  `json:"contact_name"`
	Phone       string  `json:"phone"`
	Address     string  `json:"address"`
	Latitude    float64 `json:"latitude"`
	Longitude   float64 `json:"longitude"`
}

// position is where the engineer's phone is at a check-in or check-out.
type position struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

func (d *demo) platform() error {
	d.section("Platform: WeChat's verify ticket and our component token")
	if _, err := d.sim("/sim/ticket", struct{}{}); err != nil {
		return err
	}
	d.step("WeChat pushes component_verify_ticket", "POST /wechat/component/events → signature checked, decrypted, stored (reply \"success\")")
	return nil
}

func (d *demo) authorize() error {
	d.section("Enterprise mini program: authorization")
	// A previous run bound another mini program; unbind it so this run's
	// account can be connected.
	st, err := d.admin("GET", "/admin/miniprogram/binding", nil, 200)
	if err != nil {
		return err
	}
	if b, ok := st["binding"].(map[string]any); ok && b["status"] == "bound" {
		if _, err := d.admin("DELETE", "/admin/miniprogram/binding", nil, 204); err != nil {
			return err
		}
		d.step("unbind the previous run's mini program", fmt.Sprintf("DELETE /admin/miniprogram/binding → %v unbound", b["appid"]))
	}
	d.appid = "wxde30" + d.run
	account := map[string]any{
		"name": "Demo Equipment Service", "user_name": "gh_" + d.run, "principal_name": "Demo Equipment Co., Ltd.",
		"head_img": "https://img.example/demo-logo.png", "signature": "After-sales service for Demo Equipment",
		"mini_program": true, "certified": true, "permissions": []int{17, 18, 30},
		"categories": []map[string]string{{"First": "Tools", "Second": "Equipment management"}},
	}
	if _, err := d.simApp("/sim/authorizers", d.appid, account); err != nil {
		return err
	}
	d.step("the enterprise has a certified mini program", d.appid+" (permission sets 17, 18, 30)")
	page, err := d.startPage()
	if err != nil {
		return err
	}
	pc := pcLink(page)
	scan, err := d.simApp("/sim/authorize", d.appid, map[string]any{"auth_url": pc, "referer": page.Referer(pc)})
	if err != nil {
		return err
	}
	d.step("admin clicks the link, scans and confirms in WeChat",
		"WeChat checks the Referer "+page.Referer(pc)+" against the start-page domain, pushes the `authorized` event and redirects the browser")
	redirect, err := url.Parse(str(scan, "redirect_url"))
	if err != nil {
		return err
	}
	cb, err := d.call("GET", "/wechat/auth/callback?"+redirect.RawQuery, "", nil, nil, 200)
	if err != nil {
		return err
	}
	d.step("authorization callback", fmt.Sprintf("GET /wechat/auth/callback → bound=%v appid=%s", cb["bound"], str(cb, "appid")))
	st, err = d.admin("GET", "/admin/miniprogram/binding", nil, 200)
	if err != nil {
		return err
	}
	d.step("binding status", fmt.Sprintf("mode=%s, %s certified=%v, authorizer token %s", str(st, "mode"), str(st, "binding", "name"),
		get(st, "binding", "certified"), str(st, "tokens", "status")))
	return nil
}

// startPage asks for the start link as the console does and opens our
// start page on the API domain, as the admin's browser does.
func (d *demo) startPage() (browser.Page, error) {
	link, err := d.admin("POST", "/admin/miniprogram/authorization", nil, 201)
	if err != nil {
		return browser.Page{}, err
	}
	start, err := url.Parse(str(link, "start_url"))
	if err != nil {
		return browser.Page{}, err
	}
	d.step("admin asks for the authorization link", "POST /admin/miniprogram/authorization → "+shorten(start.String(), 70))
	r, err := d.client.Expect(d.ctx, apiclient.Request{Method: http.MethodGet, Path: start.RequestURI(),
		Headers: map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) demo"}}, http.StatusOK)
	if err != nil {
		return browser.Page{}, err
	}
	page := browser.Page{URL: start.String(), Header: r.Header, Body: r.Raw}
	pc := pcLink(page)
	if pc == "" {
		return page, errors.New("the start page has no link to WeChat's authorization page")
	}
	d.step("admin opens our start page (the start-page domain; locally the dev server)",
		fmt.Sprintf("GET %s → %s page linking to WeChat (Referrer-Policy %s); "+
			"its pre-auth code needed the component token, minted from the stored ticket and kept in DynamoDB", start.Path,
			strings.TrimSuffix(r.Header.Get("Content-Type"), "; charset=utf-8"), r.Header.Get("Referrer-Policy")))
	return page, nil
}

// pcLink is the start page's button to WeChat's PC authorization page:
// WeChat's own host when deployed, the simulator's page on a dev server.
func pcLink(page browser.Page) string {
	for _, l := range page.Links() {
		if l.ID == "wechat-pc" {
			return l.Href
		}
	}
	return ""
}

func (d *demo) release() error {
	d.section("Code release: prepare, review, release")
	prep, err := d.admin("POST", "/admin/miniprogram/prepare", nil, 200)
	if err != nil {
		return err
	}
	d.step("prepare", "POST /admin/miniprogram/prepare → "+steps(prep))
	if _, err := d.simApp("/sim/privacy-interface/approve", d.appid, nil); err != nil {
		return err
	}
	prep, err = d.admin("POST", "/admin/miniprogram/prepare", nil, 200)
	if err != nil {
		return err
	}
	d.step("WeChat approves wx.getLocation; prepare again", steps(prep))
	sub, err := d.admin("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if err != nil {
		return err
	}
	d.step("commit the template and submit for review", fmt.Sprintf("POST /admin/miniprogram/review → %s, version %s, audit %v",
		str(sub, "state"), str(sub, "version"), get(sub, "audit_id")))
	if _, err := d.simApp("/sim/audit", d.appid, map[string]any{"status": 0}); err != nil {
		return err
	}
	st, err := d.admin("GET", "/admin/miniprogram/release-status", nil, 200)
	if err != nil {
		return err
	}
	d.step("WeChat approves and pushes weapp_audit_success", "POST /wechat/events/"+d.appid+" → release-status "+str(st, "state"))
	rel, err := d.admin("POST", "/admin/miniprogram/release", nil, 200)
	if err != nil {
		return err
	}
	d.step("release", fmt.Sprintf("POST /admin/miniprogram/release → %s %s", str(rel, "state"), str(rel, "released_version")))
	qr, err := d.admin("GET", "/admin/miniprogram/qrcode?device_sn=DEMO-AC-0001", nil, 200)
	if err != nil {
		return err
	}
	d.step("device QR code", fmt.Sprintf("GET /admin/miniprogram/qrcode → %s code, %s, %d bytes (base64)",
		str(qr, "kind"), str(qr, "content_type"), len(str(qr, "image_base64"))))
	return nil
}

func (d *demo) customer() error {
	d.section("Terminal user: login, registration, work order")
	d.openid = "o-demo-" + d.run
	login, err := d.wxLogin(d.appid, d.openid, loginRequest{AppID: d.appid})
	if err != nil {
		return err
	}
	d.session = str(login, "session_token")
	d.step("customer opens the enterprise mini program (wx.login)",
		fmt.Sprintf("POST /portal/login → user %s of tenant %s, session 2 h (no session_key)",
			str(login, "user", "user_id"), str(login, "user", "tenant_id")))
	inv, err := d.admin("POST", "/admin/invitations", map[string]any{"customer_id": "CUST-0042", "max_uses": 5, "expires_in_days": 30}, 201)
	if err != nil {
		return err
	}
	d.step("admin issues an invitation code", "POST /admin/invitations → "+str(inv, "code")+" for customer CUST-0042")
	reg, err := d.call("POST", "/portal/registration/invitation", d.session, map[string]any{"code": str(inv, "code")}, nil, 200)
	if err != nil {
		return err
	}
	d.step("customer registers with the code", "POST /portal/registration/invitation → customer "+str(reg, "user", "customer_id"))
	body := workOrderRequest{Category: "repair", Description: "The compressor makes a grinding noise and trips the breaker",
		DeviceSN: "DEMO-AC-0001", ContactName: "Li Lei", Phone: "13800138000", Address: "88 Century Avenue, Pudong, Shanghai",
		Latitude: siteLat, Longitude: siteLng}
	key := "demo-" + d.run + "-1"
	created, err := d.call("POST", "/portal/work-orders", d.session, body, idempotency(key), 201)
	if err != nil {
		return err
	}
	d.orderID = str(created, "work_order", "id")
	d.step("customer asks for service", "POST /portal/work-orders → "+d.orderID+" "+str(created, "work_order", "status"))
	if err := d.subscribe(created); err != nil {
		return err
	}
	got, err := d.crmReceived(d.orderID, "work_order.created")
	if err != nil {
		return err
	}
	d.step("the enterprise's CRM receives the order", "POST "+d.info.WebhookReceiver+" ← "+got)
	again, err := d.call("POST", "/portal/work-orders", d.session, body, idempotency(key), 200)
	if err != nil {
		return err
	}
	d.step("the phone retries on a bad network", fmt.Sprintf("same Idempotency-Key → the same order %s (replayed=%v)",
		str(again, "work_order", "id"), get(again, "replayed")))
	return d.publicCustomer()
}

// publicCustomer is a second customer, through the public mini program's
// QR code.
func (d *demo) publicCustomer() error {
	scene, err := d.admin("POST", "/admin/qr-scenes", map[string]any{}, 201)
	if err != nil {
		return err
	}
	plogin, err := d.wxLogin(d.info.PublicAppID, "o-public-"+d.run, loginRequest{Scene: str(scene, "scene")})
	if err != nil {
		return err
	}
	d.publicUser = str(plogin, "session_token")
	second, err := d.call("POST", "/portal/work-orders", d.publicUser, workOrderRequest{Category: "maintenance",
		Description: "Yearly maintenance of the chiller", DeviceSN: "DEMO-CH-0002", ContactName: "Han Meimei", Phone: "13900139000",
		Address: "1 Guoquan Road, Yangpu, Shanghai", Latitude: secondLat, Longitude: secondLng}, idempotency("demo-"+d.run+"-2"), 201)
	if err != nil {
		return err
	}
	d.secondOrder = str(second, "work_order", "id")
	d.step("another customer scans the tenant's QR in the public mini program",
		"scene "+str(scene, "scene")+" → guest login → order "+d.secondOrder)
	return nil
}

// wxLogin plays wx.login for openid in the mini program appid, then logs in
// with the code it returned and the rest of req.
func (d *demo) wxLogin(appid, openid string, req loginRequest) (map[string]any, error) {
	code, err := d.simApp("/sim/js-code", appid, map[string]any{"openid": openid})
	if err != nil {
		return nil, err
	}
	req.Code = str(code, "code")
	return d.call("POST", "/portal/login", "", req, nil, 200)
}

func (d *demo) engineer() error {
	d.section("Engineer: nearby, check-in, check-out")
	// The engineer is in the tenant's directory: the customer reads their name.
	if _, err := d.admin("GET", "/admin/engineers/"+stack.DemoEngineer, nil, 200); err != nil {
		eng := map[string]any{"display_name": "王伟", "skills": []string{"repair"}, "version": 0}
		if _, err := d.admin("PUT", "/admin/engineers/"+stack.DemoEngineer, eng, 201); err != nil {
			return err
		}
		d.step("admin adds the engineer to the directory", "PUT /admin/engineers/"+stack.DemoEngineer+" → 王伟 (repair)")
	}
	near, err := d.engineerCall("GET",
		fmt.Sprintf("/engineer/work-orders/nearby?lat=%.4f&lng=%.4f&radius_km=5", siteLat+0.01, siteLng+0.016), nil, 200)
	if err != nil {
		return err
	}
	found := false
	list, _ := near["work_orders"].([]any)
	for _, o := range list {
		if m, _ := o.(map[string]any); m["id"] == d.orderID {
			found = true
			d.step("engineer looks for work nearby",
				fmt.Sprintf("GET /engineer/work-orders/nearby → open orders within 5 km: %d; ours is %.1f km away", len(list), m["distance_km"]))
		}
	}
	if !found {
		return fmt.Errorf("the new order is not among the nearby ones: %v", near)
	}
	for _, id := range []string{d.orderID, d.secondOrder} {
		site := position{siteLat, siteLng}
		if id == d.secondOrder {
			site = position{secondLat, secondLng}
		}
		if err := d.serve(id, site); err != nil {
			return err
		}
	}
	return nil
}

// serve takes order id through the engineer's visit to site: accept, en
// route, check in, work, check out, completed.
func (d *demo) serve(id string, site position) error {
	order := "/engineer/work-orders/" + id
	onSite := position{site.Latitude + 0.0002, site.Longitude + 0.0002}
	if _, err := d.engineerCall("POST", order+"/accept", nil, 200); err != nil {
		return err
	}
	if err := d.setStatus(id, "en_route", "", time.Now().Add(30*time.Minute)); err != nil {
		return err
	}
	if id == d.orderID {
		if err := d.onTheWay(); err != nil {
			return err
		}
	}
	in, err := d.engineerCall("POST", order+"/check-in", onSite, 201)
	if err != nil {
		return err
	}
	if err := d.setStatus(id, "in_progress", ""); err != nil {
		return err
	}
	if _, err := d.engineerCall("POST", order+"/check-out", onSite, 200); err != nil {
		return err
	}
	if err := d.setStatus(id, "completed", "Replaced the worn bearing"); err != nil {
		return err
	}
	d.step("accept → en route → check in → work → check out → completed",
		fmt.Sprintf("%s, checked in %v m from the site", id, get(in, "distance_m")))
	return nil
}

// setStatus moves order id on as the engineer, with an optional note
// and arrival time.
func (d *demo) setStatus(id, status, note string, eta ...time.Time) error {
	body := map[string]any{"status": status}
	if note != "" {
		body["note"] = note
	}
	if len(eta) > 0 {
		body["eta"] = eta[0].Unix()
	}
	_, err := d.engineerCall("POST", "/engineer/work-orders/"+id+"/status", body, 200)
	return err
}

func (d *demo) followUp() error {
	d.section("Follow-up: timeline, rating, mileage")
	det, err := d.call("GET", "/portal/work-orders/"+d.orderID, d.session, nil, nil, 200)
	if err != nil {
		return err
	}
	var statuses []string
	tl, _ := det["timeline"].([]any)
	for _, e := range tl {
		m, _ := e.(map[string]any)
		statuses = append(statuses, fmt.Sprint(m["status"]))
	}
	d.step("customer follows the order", "GET /portal/work-orders/{id} → "+strings.Join(statuses, " → "))
	rating := map[string]any{"stars": 5, "comment": "Quick and tidy"}
	if _, err := d.call("POST", "/portal/work-orders/"+d.orderID+"/rating", d.session, rating, nil, 200); err != nil {
		return err
	}
	d.step("customer rates the service", "POST /portal/work-orders/{id}/rating → 5 stars (once only)")
	if d.info.EventsDelivered {
		feed, err := d.call("GET", "/portal/notifications", d.session, nil, nil, 200)
		if err != nil {
			return err
		}
		var titles []string
		notes, _ := feed["notifications"].([]any)
		for _, n := range slices.Backward(notes) { // oldest first
			if m, _ := n.(map[string]any); m["work_order_id"] == d.orderID {
				titles = append(titles, fmt.Sprintf("%v (%v)", m["title"], m["wechat"]))
			}
		}
		d.step("customer opens the notifications in the mini program",
			fmt.Sprintf("GET /portal/notifications → %s; unread %v", strings.Join(titles, ", "), feed["unread"]))
	}
	got, err := d.crmReceived(d.orderID, "work_order.rated")
	if err != nil {
		return err
	}
	d.step("the CRM followed every change of the order", "GET "+d.info.WebhookReceiver+" → "+got)
	// The tenant's day (Asia/Shanghai by default), not UTC's.
	day := time.Now().In(shanghai).Format(time.DateOnly)
	m, err := d.engineerCall("GET", "/engineer/mileage?from="+day+"&to="+day, nil, 200)
	if err != nil {
		return err
	}
	leg, ok := flaggedLeg(m)
	if !ok {
		d.step("engineer's mileage for reimbursement",
			fmt.Sprintf("GET /engineer/mileage → %.1f km today (between the sites of consecutive visits)", get(m, "total_km")))
		return nil
	}
	// The walkthrough drives 10 km between its sites in seconds: the leg is
	// flagged and not counted until an admin corrects it.
	d.step("engineer's mileage for reimbursement",
		fmt.Sprintf("GET /engineer/mileage → %.1f km today; a %.1f km leg between the sites is flagged %v, not counted",
			get(m, "total_km"), get(leg, "computed_km"), leg["flags"]))
	correction := map[string]any{"engineer_id": stack.DemoEngineer, "leg_id": leg["id"], "km": leg["computed_km"],
		"reason": "Drove between the two sites; the visits were logged late"}
	if _, err := d.admin("POST", "/admin/mileage/corrections", correction, 201); err != nil {
		return err
	}
	report, err := d.admin("GET", "/admin/mileage?from="+day+"&to="+day, nil, 200)
	if err != nil {
		return err
	}
	d.step("admin corrects the leg with a reason (kept in the audit trail)",
		fmt.Sprintf("POST /admin/mileage/corrections → GET /admin/mileage: %.1f km for the period", get(report, "total_km")))
	return nil
}

// crmReceived waits (up to 15 s) until the demo CRM has verified and
// accepted an event of type last about the order, and describes the
// order's events it accepted, oldest first.
func (d *demo) crmReceived(orderID, last string) (string, error) {
	if !d.info.EventsDelivered {
		return "nothing: with an external DynamoDB endpoint the events stay in the outbox (GET /admin/events)", nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got struct {
			Deliveries []struct {
				EventType string          `json:"event_type"`
				Body      json.RawMessage `json:"body"`
				Verified  bool            `json:"verified"`
				Status    int             `json:"status"`
			} `json:"deliveries"`
		}
		r, err := d.client.Expect(d.ctx, apiclient.Request{Method: http.MethodGet, Path: "/dev/webhook"}, http.StatusOK)
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal([]byte(r.Raw), &got); err != nil {
			return "", err
		}
		var types []string
		for _, dl := range slices.Backward(got.Deliveries) { // oldest first
			mentions := bytes.Contains(dl.Body, []byte(`"id":"`+orderID+`"`)) || bytes.Contains(dl.Body, []byte(`"work_order_id":"`+orderID+`"`))
			if mentions && dl.Verified && dl.Status == http.StatusOK {
				types = append(types, strings.TrimPrefix(dl.EventType, "work_order."))
			}
		}
		if slices.Contains(types, strings.TrimPrefix(last, "work_order.")) {
			return fmt.Sprintf("%d events, signatures verified: %s", len(types), strings.Join(types, " → ")), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the CRM did not receive %s for %s within 15 s (it has %v)", last, orderID, types)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// subscribe plays the mini program after the order: it asks the customer
// (wx.requestSubscribeMessage) about the templates the order's answer
// names; the customer accepts them all (WeChat records the grants, the
// simulator's console plays that), and the mini program reports the
// answer.
func (d *demo) subscribe(created map[string]any) error {
	ids, _ := get(created, "subscribe", "request_next").([]any)
	if len(ids) == 0 {
		return fmt.Errorf("the order's answer names no template to ask for: %v (was the mini program prepared?)", created["subscribe"])
	}
	results := map[string]any{"errMsg": "requestSubscribeMessage:ok"}
	for _, id := range ids {
		results[fmt.Sprint(id)] = "accept"
	}
	if _, err := d.simApp("/sim/subscriptions", d.appid, map[string]any{"openid": d.openid, "template_ids": ids}); err != nil {
		return err
	}
	subs, err := d.call("POST", "/portal/subscriptions", d.session, map[string]any{"results": results}, nil, 200)
	if err != nil {
		return err
	}
	var kinds []string
	list, _ := subs["templates"].([]any)
	for _, t := range list {
		if m, _ := t.(map[string]any); fmt.Sprint(m["grants"]) != "0" {
			kinds = append(kinds, fmt.Sprint(m["kind"]))
		}
	}
	d.step("the mini program asks to notify the customer; they accept",
		"wx.requestSubscribeMessage → POST /portal/subscriptions → grants for "+strings.Join(kinds, ", "))
	return nil
}

// onTheWay waits for the customer's WeChat to show the engineer on the
// way (the simulator's log of delivered subscribe messages).
func (d *demo) onTheWay() error {
	if !d.info.EventsDelivered {
		d.step("the customer's WeChat: engineer on the way", "not sent: with an external DynamoDB endpoint the events stay in the outbox")
		return nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := apiclient.Client{Base: d.info.WeChatSimulator, HTTP: d.http}
		r, err := c.Expect(d.ctx, apiclient.Request{Method: http.MethodGet, Path: "/sim/subscribe-messages?appid=" + d.appid}, http.StatusOK)
		if err != nil {
			return err
		}
		msgs, _ := r.Body["messages"].([]any)
		for _, m := range msgs {
			msg, _ := m.(map[string]any)
			if msg["touser"] != d.openid || !strings.Contains(fmt.Sprint(msg["page"]), d.orderID) {
				continue
			}
			data, _ := msg["data"].(map[string]any)
			if !slices.ContainsFunc(slices.Collect(maps.Values(data)), func(v any) bool { return v == "已出发" }) {
				continue
			}
			values := make([]string, 0, len(data))
			for _, k := range slices.Sorted(maps.Keys(data)) {
				values = append(values, k+"="+fmt.Sprint(data[k]))
			}
			d.step("the customer's WeChat: engineer on the way",
				fmt.Sprintf("subscribe message → %s, opens %v", strings.Join(values, " "), msg["page"]))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no \"engineer on the way\" message for %s within 15 s (%d messages)", d.orderID, len(msgs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shanghai is the demo tenant's time zone (the default).
var shanghai = time.FixedZone("CST", 8*3600)

// flaggedLeg finds the first leg of a mileage answer that is not counted.
func flaggedLeg(m map[string]any) (map[string]any, bool) {
	days, _ := m["days"].([]any)
	for _, d := range days {
		day, _ := d.(map[string]any)
		legs, _ := day["legs"].([]any)
		for _, l := range legs {
			if leg, _ := l.(map[string]any); leg != nil && leg["counted"] == false {
				return leg, true
			}
		}
	}
	return nil, false
}

// --- output ---

func (d *demo) section(title string) { fmt.Fprintf(d.out, "\n== %s\n", title) }

func (d *demo) step(what, detail string) {
	d.n++
	fmt.Fprintf(d.out, "%3d. %s\n     %s\n", d.n, what, detail)
}

func steps(prep map[string]any) string {
	list, _ := prep["steps"].([]any)
	var parts []string
	for _, s := range list {
		m, _ := s.(map[string]any)
		part := fmt.Sprintf("%v %v", m["step"], m["status"])
		if m["status"] == "failed" {
			part += fmt.Sprintf(" (%v)", m["detail"])
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// --- HTTP ---

func (d *demo) admin(method, path string, body any, want int) (map[string]any, error) {
	return d.call(method, path, d.info.AdminToken, body, nil, want)
}

func (d *demo) engineerCall(method, path string, body any, want int) (map[string]any, error) {
	return d.call(method, path, d.info.EngineerToken, body, nil, want)
}

// sim calls the simulator's console, which plays WeChat's side (every
// console call is a POST).
func (d *demo) sim(path string, body any) (map[string]any, error) {
	c := apiclient.Client{Base: d.info.WeChatSimulator, HTTP: d.http}
	r, err := c.Expect(d.ctx, apiclient.Request{Method: http.MethodPost, Path: path, Body: body}, http.StatusOK)
	return r.Body, err
}

// simApp calls the simulator's console about the account appid; fields are
// the rest of the request.
func (d *demo) simApp(path, appid string, fields map[string]any) (map[string]any, error) {
	body := map[string]any{"appid": appid}
	maps.Copy(body, fields)
	return d.sim(path, body)
}

func (d *demo) call(method, path, token string, body any, headers map[string]string, want int) (map[string]any, error) {
	r, err := d.client.Expect(d.ctx, apiclient.Request{Method: method, Path: path, Token: token, Body: body, Headers: headers}, want)
	return r.Body, err
}

func (d *demo) devInfo() error {
	r, err := d.client.Expect(d.ctx, apiclient.Request{Method: http.MethodGet, Path: "/dev/info"}, http.StatusOK)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(r.Raw), &d.info)
}

// idempotency is the header that makes a work-order create safe to retry.
func idempotency(key string) map[string]string { return map[string]string{"Idempotency-Key": key} }

func get(m map[string]any, path ...string) any { return apiclient.Get(m, path...) }

func str(m map[string]any, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// suffix makes this run's WeChat accounts distinct from earlier runs'.
func suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
