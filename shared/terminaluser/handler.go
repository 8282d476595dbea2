// Package terminaluser signs terminal users in from the mini program and
// registers them according to the tenant's access settings.
package terminaluser

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/authorization"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/portal"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

var (
	jsCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,128}$`)
	appIDPattern  = regexp.MustCompile(`^wx[0-9a-zA-Z]{14,30}$`)
)

type loginRequest struct {
	Code  string `json:"code"`
	AppID string `json:"appid,omitempty"`
	Scene string `json:"scene,omitempty"`
}

// LoginReply is what the mini program gets: our session (never WeChat's
// session_key), the user and what the tenant's settings require.
type LoginReply struct {
	portal.Tokens
	User     User            `json:"user"`
	DeviceSN string          `json:"device_sn,omitempty"`
	Access   tenant.Settings `json:"access"`
	// CanCreateWorkOrders is false when the tenant requires registration
	// and the user has not completed it.
	CanCreateWorkOrders bool `json:"can_create_work_orders"`
}

type handler struct {
	d        *app.Deps
	users    *Store
	sessions *portal.Sessions
	settings *tenant.Store
	bindings *authorization.Store
	tokens   *tokens.Manager
}

// NewHandler builds the userlogin function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	h := &handler{d: d, users: NewStore(d.DB), sessions: portal.NewSessions(d), settings: tenant.NewStore(d.DB),
		bindings: authorization.NewStore(d.DB), tokens: tokens.FromDeps(d)}
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("POST /portal/login", h.login)
	rt.Handle("POST /portal/session/refresh", h.refresh)
	return rt, nil
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	if !jsCodePattern.MatchString(req.Code) {
		return apperr.InvalidField("code", "the wx.login code is missing or malformed")
	}
	if (req.AppID == "") == (req.Scene == "") {
		return apperr.BadRequest("invalid_request", "give either appid (enterprise mini program) or scene (public mini program QR code)")
	}
	ctx := r.Context()
	wx := h.d.WeChat
	var tenantID, appid, deviceSN string
	var sess wechat.Session
	if req.AppID != "" {
		if !appIDPattern.MatchString(req.AppID) {
			return apperr.InvalidField("appid", "not a mini program appid")
		}
		b, err := h.bindings.BindingByAppID(ctx, req.AppID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && b.Status != authorization.StatusBound) {
			return apperr.E(apperr.Forbidden, "mini_program_not_connected", "this mini program is not connected to any enterprise")
		}
		if err != nil {
			return err
		}
		tenantID, appid = b.TenantID, req.AppID
		sess, err = wx.ComponentCode2Session(ctx, h.tokens.ComponentTokenSource(), appid, req.Code)
		if err != nil {
			return loginError(err)
		}
	} else {
		if err := h.d.Config.Require(config.EnvPublicAppID); err != nil {
			return err
		}
		sc, err := h.sessions.DecodeScene(ctx, req.Scene)
		if errors.Is(err, portal.ErrBadScene) {
			return apperr.InvalidField("scene", "the QR code is not valid; scan the enterprise's QR code again")
		}
		if err != nil {
			return err
		}
		secret, err := h.d.Secrets.Get(ctx, config.SecretPublicAppSecret)
		if err != nil {
			return err
		}
		tenantID, appid, deviceSN = sc.TenantID, h.d.Config.PublicAppID, sc.DeviceSN
		sess, err = wx.Code2Session(ctx, appid, secret, req.Code)
		if err != nil {
			return loginError(err)
		}
	}
	// sess.SessionKey is dropped here: nothing we offer needs it.
	user, err := h.users.Upsert(ctx, tenantID, appid, sess.OpenID, sess.UnionID, h.d.Now())
	if err != nil {
		return err
	}
	st, err := h.settings.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	toks, err := h.sessions.Issue(ctx, portal.Claims{TenantID: tenantID, UserID: user.UserID, AppID: appid})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, LoginReply{Tokens: toks, User: user, DeviceSN: deviceSN,
		Access: publicSettings(st), CanCreateWorkOrders: CanCreate(st, user)})
	return nil
}

// CanCreate tells whether the user may create work orders under st.
func CanCreate(st tenant.Settings, u User) bool {
	return st.GuestAccess || u.Status == StatusRegistered
}

// publicSettings keeps what the portal needs to show.
func publicSettings(st tenant.Settings) tenant.Settings {
	return tenant.Settings{DisplayName: st.DisplayName, GuestAccess: st.GuestAccess,
		InvitationCodes: st.InvitationCodes, SerialRegistration: st.SerialRegistration}
}

// loginError maps WeChat's code2session errors to what the mini program can
// act on. The code is never retried: it is single use.
func loginError(err error) error {
	switch {
	case wechat.IsCode(err, wechat.CodeInvalidCode):
		return &apperr.Error{Kind: apperr.Unauthenticated, Code: "invalid_code", Message: "the login code is invalid or expired; call wx.login again", Err: err}
	case wechat.IsCode(err, wechat.CodeCodeUsed):
		return &apperr.Error{Kind: apperr.Conflict, Code: "code_used", Message: "the login code was already used; call wx.login again", Err: err}
	case wechat.IsCode(err, wechat.CodeQuotaMinute, wechat.CodeQuotaDaily):
		return &apperr.Error{Kind: apperr.RateLimited, Code: "login_rate_limited", Message: "too many logins; wait a minute and try again", Err: err}
	case wechat.IsCode(err, wechat.CodeNotAuthorized):
		return &apperr.Error{Kind: apperr.Forbidden, Code: "mini_program_not_authorized", Message: "this mini program no longer authorizes the service; contact the enterprise", Err: err}
	case wechat.IsCode(err, wechat.CodeHighRiskUser):
		return &apperr.Error{Kind: apperr.Forbidden, Code: "user_blocked", Message: "WeChat blocked this login as high risk", Err: err}
	}
	return &apperr.Error{Kind: apperr.Upstream, Code: "wechat_unavailable", Message: "WeChat login is unavailable; try again shortly", Err: err}
}

func (h *handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	if req.RefreshToken == "" || len(req.RefreshToken) > 2048 {
		return apperr.InvalidField("refresh_token", "required")
	}
	toks, c, err := h.sessions.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	// A user of an unbound enterprise mini program cannot keep a session.
	if _, err := h.users.Get(r.Context(), c.TenantID, c.UserID); err != nil {
		return apperr.E(apperr.Unauthenticated, "invalid_session", "the session is not valid; log in again")
	}
	httpapi.WriteJSON(w, http.StatusOK, toks)
	return nil
}
