package signin

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/binding"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/ratelimit"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/tokens"
	"wxchannel/shared/usersession"
)

// loginHandler is the userlogin function: sign-in and session refresh.
type loginHandler struct {
	login *Login
}

// NewLoginHandler builds the userlogin function's handler.
func NewLoginHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	login := &Login{
		Users: terminaluser.NewStore(d.DB), Bindings: binding.NewStore(d.DB), Settings: tenant.NewStore(d.DB),
		Sessions: usersession.FromDeps(d), Scenes: qrscene.FromDeps(d), WeChat: d.WeChat,
		ComponentToken: tokens.FromDeps(d).ComponentTokenSource(),
		Public: PublicApp{AppID: d.Config.PublicAppID, Secret: func(ctx context.Context) (string, error) {
			return d.Secrets.Get(ctx, config.SecretPublicAppSecret)
		}},
		Limits: ratelimit.New(d.DB, d.Now),
		Now:    d.Now,
	}
	h := &loginHandler{login: login}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *loginHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /portal/login", h.handleLogin)
	rt.Handle("POST /portal/session/refresh", h.handleRefresh)
	return rt
}

func (h *loginHandler) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	req.ClientIP = httpapi.ClientIP(r)
	reply, err := h.login.Login(r.Context(), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, reply)
	return nil
}

func (h *loginHandler) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	toks, err := h.login.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, toks)
	return nil
}
