package wechatsim

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
)

// The console is the simulator's own HTTP API under /sim/: it plays the
// people and systems on WeChat's side that the real protocol has no call
// for (an admin scanning our authorization link, a user opening the mini
// program, WeChat's reviewers), so that a program outside the process —
// `make demo` against `make run` — can drive a whole story. Real WeChat has
// no such paths; our product never calls them.

const consoleBodyLimit = 64 << 10

type consoleAuthorizer struct {
	AppID               string     `json:"appid"`
	Name                string     `json:"name"`
	UserName            string     `json:"user_name"`
	PrincipalName       string     `json:"principal_name"`
	HeadImg             string     `json:"head_img"`
	Signature           string     `json:"signature"`
	MiniProgram         bool       `json:"mini_program"`
	Certified           bool       `json:"certified"`
	Permissions         []int      `json:"permissions"`
	Categories          []Category `json:"categories"`
	AuthorizedElsewhere bool       `json:"authorized_elsewhere"`
}

// consoleRoutes registers the console: one route per part that WeChat's
// side plays.
func (s *Sim) consoleRoutes() {
	s.mux.HandleFunc("POST /sim/authorizers", consoleJSON(func(r *http.Request, in *consoleAuthorizer) (any, error) {
		if in.AppID == "" {
			return nil, errors.New("appid is required")
		}
		verify := -1
		if in.Certified {
			verify = 0
		}
		s.AddAuthorizer(Authorizer{AppID: in.AppID, Name: in.Name, UserName: in.UserName, PrincipalName: in.PrincipalName,
			HeadImg: in.HeadImg, Signature: in.Signature,
			MiniProgram: in.MiniProgram, VerifyType: verify, Permissions: in.Permissions, Categories: in.Categories,
			AuthorizedElsewhere: in.AuthorizedElsewhere})
		return consoleReply{AppID: in.AppID}, nil
	}))
	// authorize: the admin clicks the link on the page that sent the
	// Referer, picks the account and confirms. Like WeChat, the simulator
	// pushes the `authorized` event to the authorization event URL and then
	// redirects the browser.
	s.mux.HandleFunc("POST /sim/authorize", consoleJSON(func(r *http.Request, in *struct {
		AuthURL string `json:"auth_url"`
		Referer string `json:"referer"`
		AppID   string `json:"appid"`
	}) (any, error) {
		redirect, pushed, err := s.ConfirmAuthorization(r.Context(), in.AuthURL, in.Referer, in.AppID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"redirect_url": redirect, "authorized_event_pushed": pushed}, nil
	}))
	// js-code: what wx.login returns inside the mini program.
	s.mux.HandleFunc("POST /sim/js-code", consoleJSON(func(r *http.Request, in *struct {
		AppID   string `json:"appid"`
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	}) (any, error) {
		if in.AppID == "" || in.OpenID == "" {
			return nil, errors.New("appid and openid are required")
		}
		return map[string]any{"code": s.IssueJSCode(in.AppID, in.OpenID, in.UnionID)}, nil
	}))
	s.mux.HandleFunc("POST /sim/privacy-interface/approve", consoleJSON(func(r *http.Request, in *struct {
		AppID string `json:"appid"`
	}) (any, error) {
		s.ApprovePrivacyInterface(in.AppID)
		return consoleReply{AppID: in.AppID, Status: "approved"}, nil
	}))
	// audit: WeChat's reviewers decide (status 0 approved, 1 rejected) and
	// WeChat pushes the result to the message URL.
	s.mux.HandleFunc("POST /sim/audit", consoleJSON(func(r *http.Request, in *struct {
		AppID  string `json:"appid"`
		Status int    `json:"status"`
		Reason string `json:"reason"`
	}) (any, error) {
		s.ScriptAudit(in.AppID, AuditOutcome{Status: in.Status, Reason: in.Reason})
		if err := s.FinishAudit(r.Context(), in.AppID, true); err != nil {
			return nil, err
		}
		return consoleReply{AppID: in.AppID, Status: in.Status, Pushed: true}, nil
	}))
	s.mux.HandleFunc("POST /sim/ticket", consoleJSON(func(r *http.Request, _ *struct{}) (any, error) {
		s.mu.Lock()
		push := s.pushURL
		s.mu.Unlock()
		if push == "" {
			return nil, errors.New("no push URL configured")
		}
		if _, err := s.PushTicket(r.Context(), push); err != nil {
			return nil, err
		}
		return map[string]any{"pushed": true}, nil
	}))
	s.mux.HandleFunc("GET /sim/calls", s.consoleCalls)
}

// consoleCalls answers how many times each API was called.
func (s *Sim) consoleCalls(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := maps.Clone(s.calls)
	s.mu.Unlock()
	writeConsole(w, http.StatusOK, out)
}

// consoleJSON decodes a bounded JSON body into a fresh T and answers the
// result, or 400 with the error's text.
func consoleJSON[T any](fn func(*http.Request, *T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in := new(T)
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, consoleBodyLimit))
		dec.DisallowUnknownFields()
		// An empty body is no input: the fresh T.
		if err := dec.Decode(in); err != nil && (!errors.Is(err, io.EOF) || r.ContentLength > 0) {
			writeConsoleError(w, "bad_request", err)
			return
		}
		out, err := fn(r, in)
		if err != nil {
			writeConsoleError(w, "refused", err)
			return
		}
		writeConsole(w, http.StatusOK, out)
	}
}

// consoleReply is the console's answer about one account: its appid and,
// where the call changed it, its new status and whether WeChat pushed the
// change.
type consoleReply struct {
	AppID  string `json:"appid"`
	Status any    `json:"status,omitempty"`
	Pushed bool   `json:"pushed,omitempty"`
}

// writeConsoleError answers 400 with the product's error envelope.
func writeConsoleError(w http.ResponseWriter, code string, err error) {
	writeConsole(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
}

func writeConsole(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func authCodeOf(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return ""
	}
	return u.Query().Get("auth_code")
}
