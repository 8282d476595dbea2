package authorization

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/config"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

// WeChat's authorization pages: the PC page with a QR code and the page
// that works inside WeChat on a phone.
const (
	pcAuthHost     = "https://mp.weixin.qq.com"
	pcAuthPath     = "/cgi-bin/componentloginpage"
	mobileAuthHost = "https://open.weixin.qq.com"
	mobileAuthPath = "/wxaopen/safe/bindcomponent"
)

// authPages are the two pages' addresses: WeChat's own, or both under
// base when one is set (a local stack's simulator).
func authPages(base string) (pc, mobile string) {
	if base == "" {
		return pcAuthHost + pcAuthPath, mobileAuthHost + mobileAuthPath
	}
	return base + pcAuthPath, base + mobileAuthPath
}

// Kind is the kind of account an authorization connects.
type Kind string

// Kinds of account. A mini program is the empty kind: flows and outcomes
// stored before official accounts existed read as mini programs.
const (
	KindMiniProgram     Kind = ""
	KindOfficialAccount Kind = "official_account"
	// kindRegistered is a mini program the platform registered for the
	// tenant (quick registration): it arrives without a name, icon or
	// categories, which preparation sets, so its diagnosis asks less.
	kindRegistered Kind = "registered_mini_program"
)

// authType is componentloginpage's auth_type for the kind: 1 lists
// official accounts only, 2 mini programs only.
func (k Kind) authType() string {
	if k == KindOfficialAccount {
		return "1"
	}
	return "2"
}

// Config is what the flow needs besides its stores and clients.
type Config struct {
	ComponentAppID string
	// APIBaseURL is our public base URL, for WeChat's redirect back.
	APIBaseURL string
	// BrowserBaseURL is the base of the start link the admin's browser
	// opens (APIBaseURL when empty); WeChatPagesBase replaces WeChat's
	// page hosts (empty: WeChat's own). Both differ only locally, where
	// the public base resolves nowhere and the simulator plays WeChat.
	BrowserBaseURL, WeChatPagesBase string
	// StateKeys is the key that signs the flow's state (and the one it
	// replaced).
	StateKeys config.KeySource
	Now       func() time.Time
	Log       *slog.Logger
}

// Service runs the authorization flow.
type Service struct {
	store  *Store
	tokens *tokens.Manager
	events *componentpush.EventStore
	wx     *wechat.Client
	cfg    Config
}

// NewService returns the flow over its stores, the function's token
// manager and the WeChat client.
func NewService(store *Store, tm *tokens.Manager, events *componentpush.EventStore, wx *wechat.Client, cfg Config) *Service {
	return &Service{store: store, tokens: tm, events: events, wx: wx, cfg: cfg}
}

// ServiceFromDeps builds the flow at a function's edge around its one
// token manager.
func ServiceFromDeps(d *app.Deps, tm *tokens.Manager) *Service {
	return NewService(NewStore(d.DB), tm, componentpush.NewEventStore(d.DB), d.WeChat, Config{
		ComponentAppID: d.Config.ComponentAppID, APIBaseURL: d.Config.APIBaseURL, Now: d.Now, Log: d.Log,
		BrowserBaseURL: d.Config.BrowserBaseURL, WeChatPagesBase: d.Config.WeChatPagesBase,
		StateKeys: config.KeySource{Secrets: d.Secrets, Name: config.SecretStateSigningKey},
	})
}

// NewEventProcessor is the flow as the ticket push handler's processor of
// authorization events.
func NewEventProcessor(d *app.Deps, tm *tokens.Manager) componentpush.EventProcessor {
	return ServiceFromDeps(d, tm)
}

// Paths of the public pages on the API domain, which WeChat's console
// holds as the authorization start-page domain (授权发起页域名): WeChat
// opens its authorization page only from a page on that domain and
// redirects back only to it.
const (
	StartPath    = "/wechat/auth/start"
	CallbackPath = "/wechat/auth/callback"
)

// StartLink is where the admin's console sends the admin to connect a mini
// program: our start page, with a token that names the tenant and expires
// after StartLinkTTL.
type StartLink struct {
	URL       string    `json:"start_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueStartLink signs a link to the start page for the tenant. It creates no
// flow: the page creates the pre-auth code and the state each time it
// opens, so the admin always gets the code's whole life on WeChat's page.
// It does make sure a flow could begin now (the state key, the component
// token), so the console hears at once of a verify ticket that never came.
func (s *Service) IssueStartLink(ctx context.Context, tenantID string, kind Kind) (StartLink, error) {
	if s.cfg.APIBaseURL == "" {
		return StartLink{}, &config.MissingError{Names: []string{config.EnvAPIBaseURL}}
	}
	keys, err := s.cfg.StateKeys.Keys(ctx)
	if err != nil {
		return StartLink{}, err
	}
	if _, err := s.tokens.ComponentTokenSource().Token(ctx); err != nil {
		return StartLink{}, fmt.Errorf("component token: %w", err)
	}
	expires := s.cfg.Now().Add(StartLinkTTL)
	token := signStartLink(keys.Current, startClaims{Tenant: tenantID, Expires: expires.Unix(), Kind: kind})
	base := s.cfg.BrowserBaseURL
	if base == "" {
		base = s.cfg.APIBaseURL
	}
	return StartLink{URL: base + StartPath + "?" + url.Values{"t": {token}}.Encode(), ExpiresAt: expires.UTC()}, nil
}

// Links are where the start page sends the admin to authorize: a PC page
// with a QR code and a link to open inside WeChat on a phone, both valid
// until ExpiresAt.
type Links struct {
	PCURL     string
	MobileURL string
	ExpiresAt time.Time
	Kind      Kind
}

// OpenStartLink verifies a start link's token and begins a flow for the
// tenant it names. Each opening begins a fresh flow (a new pre-auth code
// and state); the flows of earlier openings expire unused.
func (s *Service) OpenStartLink(ctx context.Context, token string) (Links, error) {
	now := s.cfg.Now()
	c, err := config.Verify(ctx, s.cfg.StateKeys, func(keys config.KeyRing) (startClaims, error) { return verifyStartLink(keys, token, now) },
		func(err error) bool { return errors.Is(err, errTokenSignature) })
	if err != nil {
		return Links{}, err
	}
	if c.Kind != KindMiniProgram && c.Kind != KindOfficialAccount {
		return Links{}, ErrStartLinkInvalid
	}
	return s.begin(ctx, c.Tenant, c.Kind)
}

// begin creates a pre-auth code and a signed, single-use state for the
// tenant, and returns both authorization links.
func (s *Service) begin(ctx context.Context, tenantID string, kind Kind) (Links, error) {
	if s.cfg.APIBaseURL == "" {
		return Links{}, &config.MissingError{Names: []string{config.EnvAPIBaseURL}}
	}
	keys, err := s.cfg.StateKeys.Keys(ctx)
	if err != nil {
		return Links{}, err
	}
	pre, err := s.wx.CreatePreAuthCode(ctx, s.tokens.ComponentTokenSource())
	if err != nil {
		return Links{}, fmt.Errorf("create pre-auth code: %w", err)
	}
	now := s.cfg.Now()
	expires := now.Add(StateTTL)
	if codeExp := now.Add(time.Duration(pre.ExpiresIn) * time.Second); pre.ExpiresIn > 0 && codeExp.Before(expires) {
		expires = codeExp
	}
	st := flowState{Tenant: tenantID, Nonce: newNonce(), Expires: expires.Unix(), Kind: kind}
	if err := s.store.putFlow(ctx, tenantID, kind, st.Nonce, pre.Code, expires.Add(time.Hour), expires.Add(24*time.Hour)); err != nil {
		return Links{}, fmt.Errorf("store the flow: %w", err)
	}
	// WeChat redirects only to the start-page domain, our API domain.
	redirect := s.cfg.APIBaseURL + CallbackPath + "?" + url.Values{"state": {signState(keys.Current, st)}}.Encode()
	q := url.Values{"component_appid": {s.cfg.ComponentAppID}, "pre_auth_code": {pre.Code},
		"redirect_uri": {redirect}, "auth_type": {kind.authType()}}
	mq := url.Values{"action": {"bindcomponent"}, "no_scan": {"1"}, "component_appid": {s.cfg.ComponentAppID},
		"pre_auth_code": {pre.Code}, "redirect_uri": {redirect}, "auth_type": {kind.authType()}}
	pc, mobile := authPages(s.cfg.WeChatPagesBase)
	return Links{PCURL: pc + "?" + q.Encode(), MobileURL: mobile + "?" + mq.Encode() + "#wechat_redirect",
		ExpiresAt: expires.UTC(), Kind: kind}, nil
}

// Result is the outcome of an authorization, as the admin sees it.
type Result struct {
	Bound bool `json:"bound"`
	// Pending is set when WeChat has not yet confirmed, by its push, which
	// authorization came back: the binding finishes when it does, and the
	// connection status shows the outcome.
	Pending bool             `json:"pending,omitempty"`
	Message string           `json:"message,omitempty"`
	AppID   string           `json:"appid,omitempty"`
	Binding *binding.Binding `json:"binding,omitempty"`
	// OfficialAccount is the bound official account of an official
	// account's authorization.
	OfficialAccount *OfficialAccount `json:"official_account,omitempty"`
	Problems        []Problem        `json:"problems,omitempty"`
}

// Errors of the callback.
var (
	// ErrStateUsed says the state was consumed already (a replayed callback).
	ErrStateUsed = errors.New("authorization state already used")
	// errFinishing says the code was exchanged by the other path (the
	// push or the callback), which has not recorded its outcome yet.
	errFinishing = apperr.E(apperr.Unavailable, "authorization_finishing",
		"the authorization is still being completed; it finishes in a moment")
	// ErrNotThisFlow says the authorization code came back to a flow it was
	// not issued for: another tenant's, or one not started from our console.
	ErrNotThisFlow = errors.New("authorization code not issued for this flow")
)

// pushWait is how long the callback waits for WeChat's push that ties the
// code to the flow's pre-auth code; WeChat usually pushes within a second.
const pushWait = 2 * time.Second

// Callback answers WeChat's redirect. The state proves the tenant and is
// consumed once, but the redirect's code proves nothing by itself: only
// WeChat's signed push says which pre-auth code a code came from. So the
// callback binds only a code whose push names the pre-auth code issued
// with this state, and otherwise tells the admin the binding is finishing.
func (s *Service) Callback(ctx context.Context, rawState, authCode string) (Result, error) {
	now := s.cfg.Now()
	st, err := config.Verify(ctx, s.cfg.StateKeys, func(keys config.KeyRing) (flowState, error) { return verifyState(keys, rawState, now) },
		func(err error) bool { return errors.Is(err, errTokenSignature) })
	if err != nil {
		return Result{}, err
	}
	flow, err := s.store.consumeState(ctx, st.Nonce, st.Tenant)
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return Result{}, ErrStateUsed
		}
		return Result{}, err
	}
	pushed, ok, err := s.waitForPush(ctx, authCode)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return s.pending(ctx, st.Tenant, flow.Kind)
	}
	if flow.PreAuthCode == "" || pushed.PreAuthCode != flow.PreAuthCode {
		return Result{}, ErrNotThisFlow
	}
	res, err := s.complete(ctx, st.Tenant, flow.Kind, authCode)
	if errors.Is(err, errFinishing) {
		return s.pending(ctx, st.Tenant, flow.Kind)
	}
	return res, err
}

// pending shows the tenant's authorization as finishing (the mini
// program's connection status shows it; an official account's outcome
// shows on its own status once the push came).
func (s *Service) pending(ctx context.Context, tenantID string, kind Kind) (Result, error) {
	if kind == KindMiniProgram {
		if err := s.store.markPending(ctx, tenantID, s.cfg.Now()); err != nil {
			return Result{}, err
		}
	}
	return Result{Pending: true, Message: "WeChat has not confirmed the authorization yet; the connection finishes as soon as it does."}, nil
}

// waitForPush polls for WeChat's push of the code for a short while.
func (s *Service) waitForPush(ctx context.Context, authCode string) (componentpush.PushedCode, bool, error) {
	deadline := time.Now().Add(pushWait)
	for {
		pushed, ok, err := s.events.PushOf(ctx, authCode)
		if err != nil || ok || time.Now().After(deadline) {
			return pushed, ok, err
		}
		select {
		case <-ctx.Done():
			return pushed, false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// complete exchanges the code and binds, once per code: the push and the
// callback carry the same code, and whichever comes second reads the
// recorded outcome. A recorded outcome of another tenant is never shown.
func (s *Service) complete(ctx context.Context, tenantID string, kind Kind, authCode string) (Result, error) {
	if o, err := s.store.outcome(ctx, authCode); err == nil {
		return s.resultOf(ctx, tenantID, o)
	}
	// One path exchanges: the other waits for the outcome it records.
	claimed, err := s.store.claimExchange(ctx, authCode, s.cfg.Now())
	if err != nil {
		return Result{}, err
	}
	if !claimed {
		return s.awaitOutcome(ctx, tenantID, authCode)
	}
	res, err := s.exchange(ctx, tenantID, kind, authCode)
	if err != nil {
		// Nothing was recorded: free the code for the next try (the other
		// path, or the retry of a push left unfinished).
		if rerr := s.store.releaseExchange(context.WithoutCancel(ctx), authCode); rerr != nil {
			s.cfg.Log.WarnContext(ctx, "free the code's exchange", "err", rerr.Error())
		}
	}
	return res, err
}

// exchange exchanges code with WeChat and binds what it names, as the one
// path that claimed it.
func (s *Service) exchange(ctx context.Context, tenantID string, kind Kind, authCode string) (Result, error) {
	cat := s.tokens.ComponentTokenSource()
	info, err := s.wx.QueryAuth(ctx, cat, authCode)
	if wechat.IsCode(err, wechat.CodeAuthCodeInvalid) {
		// Used a moment ago by a path whose claim had lapsed: wait for its
		// outcome.
		return s.awaitOutcome(ctx, tenantID, authCode)
	}
	if wechat.IsCode(err, wechat.CodeAuthCodeExpired) {
		return s.recordFailure(ctx, tenantID, kind, authCode, ProblemFor(ReasonAuthCodeExpired, "")), nil
	}
	if wechat.IsCode(err, wechat.CodeNotAuthorized) {
		// Revoked before we completed it.
		return s.recordFailure(ctx, tenantID, kind, authCode, ProblemFor(ReasonRevoked, "")), nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("query auth: %w", err)
	}
	bind := s.bindAuthorized
	if kind == KindOfficialAccount {
		bind = s.bindOfficialAccount
	}
	res, err := bind(ctx, tenantID, kind, authCode, info)
	if err != nil {
		return Result{}, err
	}
	if !res.Bound { // a binding records its outcome in its own transaction
		o := outcomeItem{TenantID: tenantID, AppID: info.AuthorizerAppID, Kind: kind, Problems: res.Problems}
		if err := s.store.putOutcome(ctx, authCode, o, s.cfg.Now()); err != nil {
			s.cfg.Log.WarnContext(ctx, "record authorization outcome", "err", err.Error())
		}
	}
	return res, nil
}

// recordFailure records that code led to problem, for the other path to
// read, and answers it.
func (s *Service) recordFailure(ctx context.Context, tenantID string, kind Kind, authCode string, problem Problem) Result {
	o := outcomeItem{TenantID: tenantID, Kind: kind, Problems: []Problem{problem}}
	if err := s.store.putOutcome(ctx, authCode, o, s.cfg.Now()); err != nil {
		s.cfg.Log.WarnContext(ctx, "record authorization outcome", "err", err.Error())
	}
	return Result{Problems: o.Problems}
}

// awaitOutcome waits a little for the outcome the other path records for
// code; without it the authorization is still finishing (the other path
// records the outcome when done; a push left unfinished is retried by
// RetryPending).
func (s *Service) awaitOutcome(ctx context.Context, tenantID, authCode string) (Result, error) {
	for range 20 {
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if o, err := s.store.outcome(ctx, authCode); err == nil {
			return s.resultOf(ctx, tenantID, o)
		}
	}
	return Result{}, errFinishing
}

// resultOf shows a recorded outcome to its own tenant only.
func (s *Service) resultOf(ctx context.Context, tenantID string, o outcomeItem) (Result, error) {
	if o.TenantID != tenantID {
		return Result{}, ErrNotThisFlow
	}
	res := Result{Bound: o.Bound, AppID: o.AppID, Problems: o.Problems}
	if o.Bound && o.Kind == KindOfficialAccount {
		if oa, err := s.store.officialAccountByAppID(ctx, o.AppID); err == nil && oa.TenantID == tenantID {
			res.OfficialAccount = &oa
		}
		return res, nil
	}
	if o.Bound {
		b, err := s.store.ByAppID(ctx, o.AppID)
		if err == nil && b.TenantID == tenantID {
			res.Binding = &b
		}
	}
	return res, nil
}

// bindAuthorized diagnoses the authorizer and binds it to the tenant,
// recording the outcome of authCode with the binding.
func (s *Service) bindAuthorized(ctx context.Context, tenantID string, kind Kind, authCode string, info wechat.AuthorizationInfo) (
	Result, error,
) {
	wx := s.wx
	now := s.cfg.Now()
	details, err := wx.AuthorizerInfo(ctx, s.tokens.ComponentTokenSource(), info.AuthorizerAppID)
	if wechat.IsCode(err, wechat.CodeNotAuthorized) {
		return Result{AppID: info.AuthorizerAppID, Problems: []Problem{ProblemFor(ReasonRevoked, "")}}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("authorizer info: %w", err)
	}
	appid := info.AuthorizerAppID
	diagnose := Diagnose
	if kind == kindRegistered {
		diagnose = DiagnoseRegistered
	}
	if problems := diagnose(details, info.PermissionIDs()); len(problems) > 0 {
		if err := s.store.recordAttempt(ctx, tenantID, appid, problems, now); err != nil {
			return Result{}, fmt.Errorf("record attempt: %w", err)
		}
		return Result{AppID: appid, Problems: problems}, nil
	}
	ai := details.AuthorizerInfo
	b := binding.Binding{TenantID: tenantID, AppID: appid, Status: binding.StatusBound, Name: ai.NickName, HeadImg: ai.HeadImg,
		UserName: ai.UserName, PrincipalName: ai.PrincipalName, Certified: ai.VerifyTypeInfo.ID != -1,
		Permissions: info.PermissionIDs(), BoundAt: now.Unix(), UpdatedAt: now.Unix(), Generation: binding.NewGeneration(now)}
	for _, c := range ai.MiniProgramInfo.Categories {
		b.Categories = append(b.Categories, c.First+" > "+c.Second)
	}
	if prev, err := s.store.ByAppID(ctx, appid); err == nil && prev.TenantID == tenantID && prev.Bound() {
		// Re-authorization: the same binding (and its sessions), new
		// permissions and refresh token.
		b.BoundAt, b.Generation = prev.BoundAt, prev.Generation
	}
	outcome := s.store.outcomePut(authCode, outcomeItem{TenantID: tenantID, AppID: appid, Bound: true, Kind: kind}, now)
	tokensPut, err := s.tokens.AuthorizerTokensPut(ctx, info)
	if err != nil {
		return Result{}, fmt.Errorf("seal authorizer tokens: %w", err)
	}
	err = s.store.bind(ctx, b, tokensPut, outcome, now)
	if errors.Is(err, storage.ErrConflict) {
		reason := s.store.conflictReason(ctx, tenantID, appid)
		if reason == "" {
			return Result{}, fmt.Errorf("bind: %w", err)
		}
		problems := []Problem{ProblemFor(reason, "")}
		if err := s.store.recordAttempt(ctx, tenantID, appid, problems, now); err != nil {
			return Result{}, fmt.Errorf("record attempt: %w", err)
		}
		return Result{AppID: appid, Problems: problems}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("bind: %w", err)
	}
	return Result{Bound: true, AppID: appid, Binding: &b}, nil
}

// ProcessEvent handles an authorized / updateauthorized / unauthorized push
// recorded by the ticket push handler. It is idempotent and gives the same
// outcome as the callback, whichever arrives first.
func (s *Service) ProcessEvent(ctx context.Context, ev componentpush.Event) error {
	var err error
	switch ev.InfoType {
	case componentpush.InfoUnauthorized:
		err = s.revoked(ctx, ev.AuthorizerAppID)
	case componentpush.InfoFastRegister:
		err = s.registrationPushed(ctx, ev)
	case componentpush.InfoAuthorized, componentpush.InfoUpdateAuthorized:
		revoked, rerr := s.events.RevokedAfter(ctx, ev.AuthorizerAppID, ev.CreateTime)
		if rerr != nil {
			return fmt.Errorf("check later revocation: %w", rerr)
		}
		if revoked {
			// Delivered out of order: the revocation that followed wins.
			s.cfg.Log.InfoContext(ctx, "authorization event older than a revocation; ignored", "appid", ev.AuthorizerAppID)
			break
		}
		tenantID, kind, terr := s.tenantOfEvent(ctx, ev)
		if terr != nil {
			return terr
		}
		if tenantID == "" {
			// Not started from our console: nothing to bind it to.
			s.cfg.Log.WarnContext(ctx, "authorization event without a known tenant", "appid", ev.AuthorizerAppID)
			break
		}
		_, err = s.complete(ctx, tenantID, kind, ev.AuthorizationCode)
		if errors.Is(err, ErrNotThisFlow) {
			err = nil // the code's outcome belongs to the flow that issued it
		}
	}
	if err != nil {
		return err
	}
	return s.events.MarkProcessed(ctx, ev)
}

// tenantOfEvent names the tenant an authorization event binds to: the one
// whose flow issued the event's pre-auth code. An updateauthorized event
// from outside our console (the admin changed permissions in WeChat) only
// refreshes the binding in place, so it goes to the tenant the mini program
// is bound to; it can never move a binding.
func (s *Service) tenantOfEvent(ctx context.Context, ev componentpush.Event) (string, Kind, error) {
	if ev.PreAuthCode != "" {
		f, err := s.store.flowOfPreAuth(ctx, ev.PreAuthCode)
		if err == nil {
			return f.TenantID, f.Kind, nil
		}
		if !storage.IsNotFound(err) {
			return "", "", fmt.Errorf("find the flow of the pre-auth code: %w", err)
		}
	}
	if ev.InfoType != componentpush.InfoUpdateAuthorized {
		return "", "", nil
	}
	b, err := s.store.ByAppID(ctx, ev.AuthorizerAppID)
	if err == nil && b.Bound() {
		return b.TenantID, KindMiniProgram, nil
	}
	if err != nil && !storage.IsNotFound(err) {
		return "", "", err
	}
	oa, err := s.store.officialAccountByAppID(ctx, ev.AuthorizerAppID)
	if err == nil && oa.Bound() {
		return oa.TenantID, KindOfficialAccount, nil
	}
	if err != nil && !storage.IsNotFound(err) {
		return "", "", err
	}
	return "", "", nil
}

// revoked handles an unauthorized push: the binding is kept as history and
// marked unbound, and the tokens are no longer refreshed.
func (s *Service) revoked(ctx context.Context, appid string) error {
	if oa, err := s.store.officialAccountByAppID(ctx, appid); err == nil && oa.Bound() {
		return s.unbindOfficialAccount(ctx, oa, ReasonRevoked)
	} else if err != nil && !storage.IsNotFound(err) {
		return err
	}
	b, err := s.store.ByAppID(ctx, appid)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !b.Bound()) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.store.unbind(ctx, b, ReasonRevoked, s.cfg.Now()); err != nil && !errors.Is(err, storage.ErrConflict) {
		return err
	}
	return s.tokens.MarkUnauthorized(ctx, appid, "authorization revoked in WeChat")
}

// Unbind ends the tenant's use of its mini program (admin action).
func (s *Service) Unbind(ctx context.Context, tenantID string) error {
	b, err := s.store.ByTenant(ctx, tenantID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !b.Bound()) {
		return apperr.Missing("no mini program is bound")
	}
	if err != nil {
		return err
	}
	if err := s.store.unbind(ctx, b, "unbound by the administrator", s.cfg.Now()); err != nil {
		return err
	}
	return s.tokens.MarkUnauthorized(ctx, b.AppID, "unbound by the administrator")
}

// RetryPending processes authorization events a push could not finish
// (WeChat or storage down at the time); each is handled once.
func (s *Service) RetryPending(ctx context.Context) (done, failed int, err error) {
	events, err := s.events.Pending(ctx, 100)
	if err != nil {
		return 0, 0, err
	}
	for _, ev := range events {
		if err := s.ProcessEvent(ctx, ev); err != nil {
			failed++
			s.cfg.Log.WarnContext(ctx, "authorization event retry failed", "appid", ev.AuthorizerAppID, "err", err.Error())
			continue
		}
		done++
	}
	return done, failed, nil
}
