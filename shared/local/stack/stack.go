// Package stack composes the whole product with its local stand-ins: the
// embedded DynamoDB-protocol server, the WeChat simulator and an in-memory
// S3-compatible server (Assemble), and serves every function's handler on
// one loopback server with the schedules on tickers (Start). The dev server
// (`make run`), the tests, the walkthrough and the benchmarks start it;
// nothing leaves the machine.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/loopback"
	"wxchannel/shared/logging"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/webhook/receiver"
	"wxchannel/shared/wechat/wechatsim"
)

// MountFunc builds every function on one handler, routed as API Gateway
// routes them, and returns the other functions (functions.Mount).
type MountFunc func(ctx context.Context, d *app.Deps) (http.Handler, lambdarun.Workers, error)

// Local defaults. They are development values, not secrets of any real
// platform; the simulator accepts them.
var devDefaults = map[string]string{
	config.EnvStage:                "local",
	config.EnvPlatformTable:        "wxchannel-platform",
	config.EnvServiceTable:         "wxchannel-service",
	config.EnvComponentAppID:       "wxd0c0mp0nent0dev1",
	config.EnvPublicAppID:          "wxd0pub11c0app0dev",
	config.SecretComponentSecret:   "dev-component-secret",
	config.SecretComponentToken:    "devtoken",
	config.SecretEncodingAESKey:    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	config.SecretPublicAppSecret:   "dev-public-app-secret",
	config.SecretSessionSigningKey: "dev-session-signing-key-0123456789abcdef",
	config.SecretSceneSigningKey:   "dev-scene-signing-key-0123456789abcdef00",
	config.SecretAdminSigningKey:   "dev-admin-signing-key-0123456789abcdef",
	config.SecretStateSigningKey:   "dev-state-signing-key-0123456789abcdef",
}

// DemoTenant is the tenant the stack creates and issues staff tokens for.
const DemoTenant = "demo"

// DemoWebhookSecret is the secret the demo tenant's webhook signs with:
// the dev server's CRM receiver (/dev/webhook) verifies with it.
const DemoWebhookSecret = "whsec_demo-crm-local-only-0000"

// DemoEngineer is the engineer the dev stack issues a token for.
const DemoEngineer = "demo-engineer"

// PublicAPIBase is the API's public base URL in the dev stack.
const PublicAPIBase = "https://api.wxchannel.test"

// DemoMiniProgram is the enterprise's certified mini program the
// simulator knows from the start, ready to be authorized by the demo
// tenant's admin on the simulator's authorization page.
var DemoMiniProgram = wechatsim.Authorizer{AppID: "wxd0e0000000000001", Name: "Demo Equipment Service (enterprise mini program)",
	UserName: "gh_d0e000000001", PrincipalName: "Demo Equipment Co., Ltd.", HeadImg: "https://wx.qlogo.cn/mmopen/demo-equipment/0",
	Signature: "After-sales service for Demo Equipment", MiniProgram: true, VerifyType: 0, Permissions: []int{17, 18, 30},
	Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}}

// TemplateVersion is the platform's code template the simulator offers.
const TemplateVersion = "1.0.0"

// Options configure a stack. Zero values pick the local defaults.
type Options struct {
	// Addr is the listen address (keep it on loopback); default
	// 127.0.0.1:8080, "127.0.0.1:0" for a free port.
	Addr string
	// DynamoDBEndpoint uses this endpoint instead of the embedded server.
	DynamoDBEndpoint string
	// WeChatBase uses this WeChat API base URL instead of the simulator.
	WeChatBase string
	// TicketEvery is how often the simulator pushes a verify ticket.
	TicketEvery time.Duration
	// ScheduleScale runs schedules this many times faster.
	ScheduleScale float64
	// NoSchedules leaves the jobs to the caller (load tests).
	NoSchedules bool
	LogLevel    string
	Log         io.Writer
	// Getenv overrides defaults (tables, app ids, secrets, upload bucket).
	Getenv func(string) string
	// ClientOptions are applied to the DynamoDB client (tests' recorders).
	ClientOptions []func(*dynamodb.Options)
	// BrowserMapsPublicHosts says the admin's browser resolves the public
	// API domain and WeChat's page hosts to this stack (the browser tests
	// map them to a TLS front): links keep them, as deployed. Otherwise,
	// as with `make run`, the links an admin's browser opens are on the
	// stack's own address and lead to the simulator's authorization page.
	BrowserMapsPublicHosts bool
}

// Stack is a running product.
type Stack struct {
	*Parts
	URL     string
	Jobs    []lambdarun.Scheduled
	Workers lambdarun.Workers
	// Webhook is the demo tenant's CRM: a receiver at /dev/webhook that
	// verifies and shows what the product delivered to it.
	Webhook *receiver.Receiver
	// Events plays the event functions' triggers (nil on an external
	// DynamoDB endpoint, whose stream this stack cannot read).
	Events         *EventPipeline
	AdminToken     string
	EngineerToken  string
	OperatorToken  string
	ComponentAppID string
	PublicAppID    string

	srv    *loopback.Server
	cancel context.CancelFunc
	ln     net.Listener
}

// Info is what GET /dev/info tells a local client (the walkthrough): where
// the simulator is and the demo tenant's staff tokens. Only the dev stack
// serves it; no deployed function has such a route.
type Info struct {
	API             string `json:"api"`
	WeChatSimulator string `json:"wechat_simulator,omitempty"`
	Tenant          string `json:"tenant"`
	AdminToken      string `json:"admin_token"`
	EngineerToken   string `json:"engineer_token"`
	OperatorToken   string `json:"operator_token"`
	ComponentAppID  string `json:"component_appid"`
	PublicAppID     string `json:"public_appid"`
	TemplateVersion string `json:"template_version"`
	// WebhookReceiver lists what the demo tenant's CRM received;
	// EventsDelivered says the event pipeline runs (not on an external
	// DynamoDB endpoint, whose stream the stack cannot read).
	WebhookReceiver string `json:"webhook_receiver"`
	EventsDelivered bool   `json:"events_delivered"`
	// The platform's WeChat-side settings, as a developer's own push tool
	// needs them: where WeChat posts authorization events and mini program
	// messages, the message Token and the EncodingAESKey that sign and
	// encrypt them (the dev defaults, or what the environment set).
	AuthorizationEventURL string `json:"authorization_event_url"`
	MessageEventURL       string `json:"message_event_url"`
	MessageToken          string `json:"message_token"`
	EncodingAESKey        string `json:"encoding_aes_key"`
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.TicketEvery == 0 {
		o.TicketEvery = 10 * time.Minute
	}
	if o.ScheduleScale <= 0 {
		o.ScheduleScale = 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
}

// vars are the dev defaults with what the environment overrides.
func (o *Options) vars() map[string]string {
	vars := maps.Clone(devDefaults)
	overridable := []string{
		config.EnvPlatformTable, config.EnvServiceTable, config.EnvComponentAppID, config.EnvPublicAppID, config.EnvAPIBaseURL,
	}
	for _, k := range append(overridable, config.SecretNames...) {
		if v := o.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	if vars[config.EnvAPIBaseURL] == "" {
		// What WeChat and the mini program are told our API is (redirect
		// URIs, server domains, ext.json). WeChat accepts only https
		// domains, so locally it is a reserved test name; local clients
		// use the stack's URL.
		vars[config.EnvAPIBaseURL] = PublicAPIBase
	}
	return vars
}

// Start starts everything, with every function mounted by mount; Close
// stops it.
func Start(ctx context.Context, o Options, mount MountFunc) (st *Stack, err error) {
	o.defaults()
	log := logging.New(o.Log, o.LogLevel)
	st = &Stack{}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if st.ln, err = net.Listen("tcp", o.Addr); err != nil {
		return st, fmt.Errorf("listen: %w", err)
	}
	st.URL = "http://" + st.ln.Addr().String()
	vars := o.vars()
	if !o.BrowserMapsPublicHosts {
		// The public base is what WeChat is told; a browser on this
		// machine resolves no such name, so it opens our pages here.
		vars[config.EnvBrowserBaseURL] = st.URL
	}
	st.Parts, err = Assemble(ctx, PartsOptions{Vars: vars, Log: log, DynamoDBEndpoint: o.DynamoDBEndpoint, WeChatBase: o.WeChatBase,
		UploadBucket: o.Getenv(config.EnvUploadBucket), S3Endpoint: o.Getenv(config.EnvS3Endpoint), ClientOptions: o.ClientOptions,
		SimulatedWeChatPages: !o.BrowserMapsPublicHosts})
	if err != nil {
		return st, err
	}
	st.ComponentAppID, st.PublicAppID = st.Deps.Config.ComponentAppID, st.Deps.Config.PublicAppID
	if err := st.seedDemoTenant(ctx); err != nil {
		return st, err
	}
	router, workers, err := mount(ctx, st.Deps)
	if err != nil {
		return st, err
	}
	st.Jobs, st.Workers = workers.Jobs, workers
	st.Webhook = receiver.New([]byte(DemoWebhookSecret))
	mux := http.NewServeMux()
	mux.Handle("/", router)
	mux.HandleFunc("GET /dev/info", st.serveInfo)
	mux.Handle("/dev/webhook", st.Webhook)
	st.srv = loopback.Start(st.ln, mux)
	runCtx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	pushURL := st.URL + "/wechat/component/events"
	if err := st.prepareSimulator(ctx, pushURL); err != nil {
		return st, err
	}
	if err := st.connectDemoCRM(ctx); err != nil {
		return st, err
	}
	switch st.Events, err = st.EventPipeline(ctx, workers, log); {
	case errors.Is(err, ErrNoStream):
		log.WarnContext(ctx, "events stay in the outbox: the event pipeline needs the embedded DynamoDB server")
	case err != nil:
		return st, err
	}
	if !o.NoSchedules {
		for _, j := range workers.Jobs {
			go runEvery(runCtx, j, time.Duration(float64(j.Every)/o.ScheduleScale))
		}
		if st.Events != nil {
			go st.Events.Run(runCtx, time.Second)
		}
	}
	if st.Sim != nil {
		go st.Sim.StartTicketPusher(runCtx, pushURL, o.TicketEvery)
	}
	return st, nil
}

// prepareSimulator points the simulator's pushes at the stack and gives it
// what a platform set up for a while has.
func (st *Stack) prepareSimulator(ctx context.Context, pushURL string) error {
	if st.Sim == nil {
		return nil
	}
	st.Sim.SetPushURL(pushURL)
	st.Sim.SetMessageURL(st.URL + "/wechat/events/$APPID$")
	if st.Var(config.EnvBrowserBaseURL) == st.URL {
		// The admin's browser reaches the start-page domain here.
		st.Sim.ServeStartPageDomainAt(st.URL)
	}
	// An enterprise mini program to pick on the simulator's
	// authorization page (the simulator starts empty at every run).
	st.Sim.AddAuthorizer(DemoMiniProgram)
	// The platform's code template, as uploaded from the developer tools.
	st.Sim.AddTemplate(wechatsim.Template{ID: 1, Version: TemplateVersion, Desc: "after-sales service portal"})
	// WeChat scans a fresh commit for privacy interfaces for minutes;
	// locally the scan is done at once (tests cover the wait).
	st.Sim.SetPrivacyScanDelay(0)
	// A platform that has been set up for a while holds a ticket: push the
	// first one before the schedules start, so the first token refresh
	// finds it instead of asking WeChat for one.
	if _, err := st.Sim.PushTicket(ctx, pushURL); err != nil {
		return fmt.Errorf("first verify ticket push: %w", err)
	}
	return nil
}

// seedDemoTenant issues the demo tenant's staff tokens and saves its portal
// settings (guest access and invitation codes on) unless saved before.
func (st *Stack) seedDemoTenant(ctx context.Context) error {
	key, err := st.Deps.Secrets.Get(ctx, config.SecretAdminSigningKey)
	if err != nil {
		return err
	}
	now := time.Now()
	issue := func(subject, role string) (string, error) {
		return staffauth.Issue([]byte(key), staffauth.Claims{TenantID: DemoTenant, Subject: subject, Role: role}, staffauth.MaxTTL, now)
	}
	st.AdminToken, err = issue("demo-admin", staffauth.RoleAdmin)
	if err != nil {
		return err
	}
	st.EngineerToken, err = issue(DemoEngineer, staffauth.RoleEngineer)
	if err != nil {
		return err
	}
	// The platform operator's token names the platform, not a tenant.
	st.OperatorToken, err = staffauth.Issue([]byte(key), staffauth.Claims{TenantID: staffauth.PlatformTenant, Subject: "demo-operator",
		Role: staffauth.RoleOperator}, staffauth.MaxTTL, now)
	if err != nil {
		return err
	}
	s := tenant.Defaults()
	s.DisplayName, s.InvitationCodes, s.SerialRegistration = "Demo Equipment Co.", true, true
	if _, err := tenant.NewStore(st.Deps.DB).PutSettings(ctx, DemoTenant, s); err != nil && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("demo tenant: %w", err)
	}
	return nil
}

// connectDemoCRM points the demo tenant's webhook at the dev server's
// receiver, through the admin API as a tenant admin would (a webhook kept
// from an earlier run stays).
func (st *Stack) connectDemoCRM(ctx context.Context) error {
	body, _ := json.Marshal(map[string]any{"url": st.URL + "/dev/webhook", "secret": DemoWebhookSecret, "version": 0})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, st.URL+"/admin/webhook", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+st.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("demo webhook: %d %s", resp.StatusCode, msg)
	}
	return nil
}

// Info describes the stack for local clients.
func (st *Stack) Info() Info {
	in := Info{API: st.URL, Tenant: DemoTenant, AdminToken: st.AdminToken, EngineerToken: st.EngineerToken, OperatorToken: st.OperatorToken,
		ComponentAppID: st.ComponentAppID, PublicAppID: st.PublicAppID, TemplateVersion: TemplateVersion,
		WebhookReceiver: st.URL + "/dev/webhook", EventsDelivered: st.Events != nil,
		AuthorizationEventURL: st.URL + "/wechat/component/events", MessageEventURL: st.URL + "/wechat/events/$APPID$",
		MessageToken: st.Vars[config.SecretComponentToken], EncodingAESKey: st.Vars[config.SecretEncodingAESKey]}
	if st.Sim != nil {
		in.WeChatSimulator = st.Sim.URL
	}
	return in
}

func (st *Stack) serveInfo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st.Info())
}

// Wait blocks until ctx ends or the server fails.
func (st *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-st.srv.Done():
		return err
	}
}

// Close stops the server, the schedules and every stand-in.
func (st *Stack) Close() {
	if st.cancel != nil {
		st.cancel()
	}
	if st.srv != nil {
		_ = st.srv.Close()
	} else if st.ln != nil {
		_ = st.ln.Close()
	}
	if st.Parts != nil {
		st.Parts.Close()
	}
}

func runEvery(ctx context.Context, j lambdarun.Scheduled, every time.Duration) {
	if every < time.Second {
		every = time.Second
	}
	// Run once at start so tokens exist as soon as a ticket arrives.
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = j.Run(ctx) // the job logs its own summary or error
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
