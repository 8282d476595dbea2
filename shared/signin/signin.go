// Package signin signs terminal users in from a mini program: it finds the
// tenant from the enterprise mini program's binding or the public mini
// program's QR scene (and the device from either's scene), exchanges the
// wx.login code with WeChat, records the user and starts their session. It
// serves the userlogin function.
package signin

import (
	"context"
	"errors"
	"regexp"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/config"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/ratelimit"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/usersession"
	"wxchannel/shared/wechat"
)

var (
	jsCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,128}$`)
	appIDPattern  = regexp.MustCompile(`^wx[0-9a-zA-Z]{14,30}$`)
)

// LoginRequest is what the mini program sends after wx.login: the code,
// its own appid (an enterprise mini program; the public one may send its
// appid too) and the scene of the QR code it was opened with, if any. The
// public mini program needs the scene: it names the tenant.
type LoginRequest struct {
	Code  string `json:"code"`
	AppID string `json:"appid,omitempty"`
	Scene string `json:"scene,omitempty"`
	// EnvVersion is the version the user runs (wx.getAccountInfoSync's
	// miniProgram.envVersion: develop, trial or release; release when
	// absent): their subscribe messages open the same version.
	EnvVersion string `json:"env_version,omitempty"`
	// ClientIP is where the request came from (not part of the body).
	ClientIP string `json:"-"`
}

// Limits on failed logins: a garbage or replayed wx.login code costs a
// WeChat call, so whoever sends them is stopped before WeChat is asked.
var (
	FailedLoginsPerIP  = ratelimit.Limit{Name: "loginfail-ip", Max: 20, Window: 10 * time.Minute}
	FailedLoginsPerApp = ratelimit.Limit{Name: "loginfail-app", Max: 500, Window: 10 * time.Minute}
)

// LoginReply is what the mini program gets: our session (never WeChat's
// session_key), the user and what the tenant's settings require.
type LoginReply struct {
	usersession.Tokens
	User     terminaluser.User `json:"user"`
	DeviceSN string            `json:"device_sn,omitempty"`
	Access   tenant.Settings   `json:"access"`
	// CanCreateWorkOrders is false when the tenant requires registration
	// and the user has not completed it.
	CanCreateWorkOrders bool `json:"can_create_work_orders"`
}

// PublicApp is the platform's own public mini program.
type PublicApp struct {
	AppID  string
	Secret wechat.SecretFunc
}

// Login signs terminal users in: it finds the tenant from the mini program
// (its binding) or from the QR scene, exchanges the wx.login code with
// WeChat, records the user and issues our session. Every field is needed.
type Login struct {
	Users    *terminaluser.Store
	Bindings *binding.Store
	Settings *tenant.Store
	Sessions *usersession.Sessions
	Scenes   *qrscene.Codec
	WeChat   *wechat.Client
	// ComponentToken authenticates code exchanges for enterprise mini
	// programs, which our platform makes on their behalf.
	ComponentToken wechat.TokenSource
	Public         PublicApp
	// Limits counts failed logins per source IP and per mini program.
	Limits *ratelimit.Counters
	Now    func() time.Time
}

// signIn is who a code exchange says the user is, in which tenant and app
// (and under which binding of an enterprise mini program), with the
// tenant's settings when they were read on the way.
type signIn struct {
	tenantID, appid, deviceSN string
	generation                int64
	session                   wechat.Session
	settings                  *tenant.Settings
}

// Login runs the whole sign-in.
func (l *Login) Login(ctx context.Context, req LoginRequest) (LoginReply, error) {
	if !jsCodePattern.MatchString(req.Code) {
		return LoginReply{}, apperr.InvalidField("code", "the wx.login code is missing or malformed")
	}
	if !terminaluser.ValidEnvVersion(req.EnvVersion) {
		return LoginReply{}, apperr.InvalidField("env_version", "develop, trial or release")
	}
	if req.AppID == "" && req.Scene == "" {
		return LoginReply{}, apperr.BadRequest("invalid_request",
			"give appid (an enterprise mini program), scene (the QR code the mini program was opened with) or both")
	}
	limits := l.failureKeys(req)
	if wait, err := l.Limits.Exceeded(ctx, limits...); err != nil || wait > 0 {
		if err != nil {
			return LoginReply{}, err
		}
		return LoginReply{}, apperr.E(apperr.RateLimited, "too_many_failed_logins",
			"too many failed logins from here; wait and call wx.login again").After(wait)
	}
	var in signIn
	var err error
	if req.AppID != "" && req.AppID != l.Public.AppID {
		in, err = l.enterprise(ctx, req)
	} else {
		in, err = l.publicApp(ctx, req)
	}
	if wechat.IsCode(err, wechat.CodeInvalidCode, wechat.CodeCodeUsed, wechat.CodeHighRiskUser) {
		if cerr := l.Limits.Add(ctx, limits...); cerr != nil {
			return LoginReply{}, cerr
		}
	}
	if err != nil {
		return LoginReply{}, err
	}
	// in.session.SessionKey is dropped here: nothing we offer needs it.
	user, err := l.Users.Upsert(ctx, terminaluser.Login{TenantID: in.tenantID, AppID: in.appid,
		OpenID: in.session.OpenID, UnionID: in.session.UnionID, EnvVersion: req.EnvVersion}, l.Now())
	if err != nil {
		return LoginReply{}, err
	}
	// The same person in another of the tenant's apps (one unionid) is
	// the same customer.
	if user, err = l.Users.LinkByUnionID(ctx, user, l.Now()); err != nil {
		return LoginReply{}, err
	}
	st, err := l.settingsOf(ctx, in)
	if err != nil {
		return LoginReply{}, err
	}
	claims := usersession.Claims{TenantID: in.tenantID, UserID: user.UserID, AppID: in.appid, Generation: in.generation}
	toks, err := l.Sessions.Start(ctx, claims)
	if err != nil {
		return LoginReply{}, err
	}
	return LoginReply{Tokens: toks, User: user, DeviceSN: in.deviceSN, Access: terminaluser.PublicSettings(st),
		CanCreateWorkOrders: terminaluser.CanCreate(st, user)}, nil
}

// settingsOf returns the tenant's settings of a sign-in, read now unless
// they were on the way.
func (l *Login) settingsOf(ctx context.Context, in signIn) (tenant.Settings, error) {
	if in.settings != nil {
		return *in.settings, nil
	}
	return l.Settings.Settings(ctx, in.tenantID)
}

// failureKeys are the counters a failed login of req counts against.
func (l *Login) failureKeys(req LoginRequest) []ratelimit.Key {
	app := req.AppID
	if app == "" {
		app = l.Public.AppID
	}
	keys := []ratelimit.Key{{Limit: FailedLoginsPerApp, Subject: app}}
	if req.ClientIP != "" {
		keys = append(keys, ratelimit.Key{Limit: FailedLoginsPerIP, Subject: req.ClientIP})
	}
	return keys
}

// enterprise signs in through a tenant's own mini program: the tenant is
// the one it is bound to, and our platform exchanges the code for it. A
// scene (a QR code of the tenant's, printed for the public mini program or
// for this one) names the device; another tenant's scene is refused
// before WeChat is asked, without saying whose it is.
func (l *Login) enterprise(ctx context.Context, req LoginRequest) (signIn, error) {
	if !appIDPattern.MatchString(req.AppID) {
		return signIn{}, apperr.InvalidField("appid", "not a mini program appid")
	}
	b, err := l.Bindings.ByAppID(ctx, req.AppID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !b.Bound()) {
		return signIn{}, apperr.E(apperr.Forbidden, "mini_program_not_connected", "this mini program is not connected to any enterprise")
	}
	if err != nil {
		return signIn{}, err
	}
	var deviceSN string
	if req.Scene != "" {
		sc, err := l.decodeScene(ctx, req.Scene)
		if err != nil {
			return signIn{}, err
		}
		if sc.TenantID != b.TenantID {
			return signIn{}, apperr.E(apperr.Forbidden, "scene_not_for_this_mini_program",
				"this QR code does not belong to this mini program; scan it with WeChat to open the right one")
		}
		deviceSN = sc.DeviceSN
	}
	sess, err := l.WeChat.ComponentCode2Session(ctx, l.ComponentToken, req.AppID, req.Code)
	if err != nil {
		return signIn{}, loginError(err)
	}
	return signIn{tenantID: b.TenantID, appid: req.AppID, deviceSN: deviceSN, generation: b.Generation, session: sess}, nil
}

// decodeScene reads a scene sent at login; a malformed, forged or unknown
// one is one answer.
func (l *Login) decodeScene(ctx context.Context, scene string) (qrscene.Scene, error) {
	sc, err := l.Scenes.Decode(ctx, scene)
	if errors.Is(err, qrscene.ErrInvalid) {
		return qrscene.Scene{}, apperr.InvalidField("scene", "the QR code is not valid; scan the enterprise's QR code again")
	}
	return sc, err
}

// publicApp signs in through the public mini program: the tenant (and the
// device) come from the scanned QR code. A tenant that retired its public
// codes (it moved to its own mini program) is refused before WeChat is
// asked.
func (l *Login) publicApp(ctx context.Context, req LoginRequest) (signIn, error) {
	if l.Public.AppID == "" {
		return signIn{}, &config.MissingError{Names: []string{config.EnvPublicAppID}}
	}
	if req.Scene == "" {
		return signIn{}, apperr.InvalidField("scene", "the public mini program signs in with the QR code it was opened with")
	}
	sc, err := l.decodeScene(ctx, req.Scene)
	if err != nil {
		return signIn{}, err
	}
	st, err := l.Settings.Settings(ctx, sc.TenantID)
	if err != nil {
		return signIn{}, err
	}
	if st.RetirePublicQR {
		return signIn{}, l.publicQRRetired(ctx, sc.TenantID)
	}
	secret, err := l.Public.Secret(ctx)
	if err != nil {
		return signIn{}, err
	}
	sess, err := l.WeChat.Code2Session(ctx, l.Public.AppID, secret, req.Code)
	if err != nil {
		return signIn{}, loginError(err)
	}
	return signIn{tenantID: sc.TenantID, appid: l.Public.AppID, deviceSN: sc.DeviceSN, session: sess, settings: &st}, nil
}

// publicQRRetired is the refusal of the public mini program for a tenant
// that retired its public QR codes, naming its own mini program when it is
// bound. The name is a courtesy: failing to read it still refuses.
func (l *Login) publicQRRetired(ctx context.Context, tenantID string) error {
	b, err := l.Bindings.ByTenant(ctx, tenantID)
	if err != nil || !b.Bound() || b.Name == "" {
		return apperr.E(apperr.Forbidden, "public_qr_retired",
			"this enterprise has moved to its own mini program: search for it in WeChat or scan the enterprise's new QR code")
	}
	return apperr.Errorf(apperr.Forbidden, "public_qr_retired",
		"this enterprise has moved to its own mini program %q: search for it in WeChat or scan its new QR code", b.Name).
		WithDetails(map[string]any{"mini_program_name": b.Name})
}

// Refresh exchanges a refresh token for new tokens. A user whose profile is
// gone cannot keep a session, nor can a user of the public mini program
// once the tenant retired its public QR codes.
func (l *Login) Refresh(ctx context.Context, refreshToken string) (usersession.Tokens, error) {
	if refreshToken == "" || len(refreshToken) > 2048 {
		return usersession.Tokens{}, apperr.InvalidField("refresh_token", "required")
	}
	toks, c, err := l.Sessions.Refresh(ctx, refreshToken)
	if err != nil {
		return usersession.Tokens{}, err
	}
	_, st, err := l.Users.GetWithSettings(ctx, c.TenantID, c.UserID)
	if err != nil {
		return usersession.Tokens{}, apperr.E(apperr.Unauthenticated, "invalid_session", "the session is not valid; log in again")
	}
	if st.RetirePublicQR && c.AppID == l.Public.AppID {
		return usersession.Tokens{}, l.publicQRRetired(ctx, c.TenantID)
	}
	return toks, nil
}

// loginError maps WeChat's code2session errors to what the mini program can
// act on. The code is never retried: it is single use.
func loginError(err error) error {
	switch {
	case wechat.IsCode(err, wechat.CodeInvalidCode):
		return apperr.E(apperr.Unauthenticated, "invalid_code", "the login code is invalid or expired; call wx.login again").Wrap(err)
	case wechat.IsCode(err, wechat.CodeCodeUsed):
		return apperr.E(apperr.Conflict, "code_used", "the login code was already used; call wx.login again").Wrap(err)
	case wechat.IsCode(err, wechat.CodeQuotaMinute, wechat.CodeQuotaDaily):
		return apperr.E(apperr.RateLimited, "login_rate_limited", "too many logins; wait a minute and try again").Wrap(err)
	case wechat.IsCode(err, wechat.CodeNotAuthorized):
		return apperr.E(apperr.Forbidden, "mini_program_not_authorized",
			"this mini program no longer authorizes the service; contact the enterprise").Wrap(err)
	case wechat.IsCode(err, wechat.CodeHighRiskUser):
		return apperr.E(apperr.Forbidden, "user_blocked", "WeChat blocked this login as high risk").Wrap(err)
	}
	return apperr.E(apperr.Upstream, "wechat_unavailable", "WeChat login is unavailable; try again shortly").Wrap(err)
}
