package wechatsim

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The simulator's authorization page is WeChat's componentloginpage and
// bindcomponent played in an ordinary browser: a person who runs the dev
// server clicks our start page's link (pointed here by the dev stack, see
// AuthPagesBase), sees the accounts the simulator knows, picks one and
// confirms, and is sent back to our callback, as WeChat's page does after
// the admin scans and confirms on the phone. Plain HTML forms, no script.
// It checks what POST /sim/authorize checks (the Referer against the
// start-page domain, the pre-auth code, auth_type) when the page opens and
// again on confirmation.

// The paths of WeChat's authorization pages, which the simulator serves
// under its own address.
const (
	pcAuthPath     = "/cgi-bin/componentloginpage"
	mobileAuthPath = "/wxaopen/safe/bindcomponent"
	// authPageConfirmPath takes the page's form.
	authPageConfirmPath = "/sim/authorization-page/confirm"
)

// AuthPagesBase is the base under which the simulator serves WeChat's
// authorization pages (WECHAT_PAGES_BASE of a local stack): its own URL.
func (s *Sim) AuthPagesBase() string { return s.URL }

// authPageVisit is an opened page: the link the browser followed and the
// Referer it sent, kept until the person confirms or the pre-auth code
// expires.
type authPageVisit struct {
	authURL, referer string
	expires          time.Time
}

func (s *Sim) authPageRoutes() {
	s.mux.HandleFunc("GET "+pcAuthPath, s.serveAuthPage)
	s.mux.HandleFunc("GET "+mobileAuthPath, s.serveAuthPage)
	s.mux.HandleFunc("POST "+authPageConfirmPath, s.confirmAuthPage)
}

// serveAuthPage shows the accounts to pick from, or WeChat's refusal.
func (s *Sim) serveAuthPage(w http.ResponseWriter, r *http.Request) {
	authURL := "http://" + r.Host + r.URL.RequestURI()
	q := r.URL.Query()
	s.mu.Lock()
	err := s.checkStartPage(r.Referer(), q.Get("redirect_uri"))
	exp, known := s.preAuth[q.Get("pre_auth_code")]
	now := s.opts.Now()
	switch {
	case err != nil:
	case q.Get("component_appid") != s.opts.ComponentAppID:
		err = errAuthPagePlatform
	case !known || !now.Before(exp):
		err = ErrPreAuthCode
	}
	if err != nil {
		s.mu.Unlock()
		writeAuthPage(w, http.StatusBadRequest, "授权失败 Authorization failed", "<p class=\"error\">"+html.EscapeString(err.Error())+"</p>\n")
		return
	}
	for id, v := range s.authPageVisits {
		if !now.Before(v.expires) {
			delete(s.authPageVisits, id)
		}
	}
	visit := randomHex(16)
	s.authPageVisits[visit] = authPageVisit{authURL: authURL, referer: r.Referer(), expires: exp}
	accounts := s.offeredLocked(q.Get("auth_type"))
	s.mu.Unlock()
	writeAuthPage(w, http.StatusOK, "授权给第三方平台 Authorize the platform", authPageForm(visit, accounts))
}

var errAuthPagePlatform = errors.New("authorization link for another platform")

// offeredLocked lists the accounts the page offers for auth_type (1
// official accounts, 2 mini programs, 3 both), by appid. s.mu is held.
func (s *Sim) offeredLocked(authType string) []Authorizer {
	var out []Authorizer
	for _, a := range s.authorizers {
		if (authType == "1" && a.MiniProgram) || (authType == "2" && !a.MiniProgram) {
			continue
		}
		out = append(out, Authorizer{AppID: a.AppID, Name: a.Name, PrincipalName: a.PrincipalName, MiniProgram: a.MiniProgram,
			VerifyType: a.VerifyType})
	}
	slices.SortFunc(out, func(a, b Authorizer) int { return strings.Compare(a.AppID, b.AppID) })
	return out
}

// confirmAuthPage plays the confirmation: WeChat pushes `authorized` to
// the authorization event URL and redirects the browser to redirect_uri,
// on this machine where the stack serves the start-page domain.
func (s *Sim) confirmAuthPage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, consoleBodyLimit)
	if err := r.ParseForm(); err != nil {
		writeAuthPage(w, http.StatusBadRequest, "授权失败 Authorization failed", "<p class=\"error\">The form could not be read.</p>\n")
		return
	}
	// The form is posted from the page itself (a browser sends its
	// address as the Referer); anything else is not the person's click.
	if ref := r.Referer(); ref == "" || !sameOrigin(ref, "http://"+r.Host) {
		writeAuthPage(w, http.StatusForbidden, "授权失败 Authorization failed",
			"<p class=\"error\">Confirm on the authorization page itself.</p>\n")
		return
	}
	s.mu.Lock()
	visit, ok := s.authPageVisits[r.PostForm.Get("visit")]
	delete(s.authPageVisits, r.PostForm.Get("visit"))
	s.mu.Unlock()
	if !ok {
		writeAuthPage(w, http.StatusBadRequest, "授权失败 Authorization failed",
			"<p class=\"error\">This page has expired or was confirmed already: go back to the start page and click its button again.</p>\n")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
	defer cancel()
	redirect, _, err := s.ConfirmAuthorization(ctx, visit.authURL, visit.referer, r.PostForm.Get("appid"))
	if err != nil {
		writeAuthPage(w, http.StatusBadRequest, "授权失败 Authorization failed", "<p class=\"error\">"+html.EscapeString(err.Error())+"</p>\n")
		return
	}
	http.Redirect(w, r, s.onThisMachine(redirect), http.StatusFound)
}

// onThisMachine is redirect as the admin's machine reaches it: on the
// start-page domain's local address when one is set.
func (s *Sim) onThisMachine(redirect string) string {
	s.mu.Lock()
	at, domain := s.startDomainAt, s.startDomain
	s.mu.Unlock()
	u, err := url.Parse(redirect)
	local, lerr := url.Parse(at)
	if at == "" || err != nil || lerr != nil || !strings.EqualFold(u.Hostname(), domain) {
		return redirect
	}
	u.Scheme, u.Host = local.Scheme, local.Host
	return u.String()
}

// authPageForm lists the accounts as radio buttons, the first chosen.
func authPageForm(visit string, accounts []Authorizer) string {
	if len(accounts) == 0 {
		return "<p class=\"error\">No account to authorize: add one with POST /sim/authorizers, then reload this page.</p>\n"
	}
	var b strings.Builder
	b.WriteString("<p>Scanned with the administrator's WeChat. Choose the account to authorize and keep every permission.</p>\n")
	b.WriteString("<form method=\"post\" action=\"" + authPageConfirmPath + "\">\n")
	b.WriteString("<input type=\"hidden\" name=\"visit\" value=\"" + visit + "\">\n<fieldset>\n<legend>Accounts</legend>\n")
	for i, a := range accounts {
		kind, cert := "mini program", "certified"
		if !a.MiniProgram {
			kind = "official account"
		}
		if a.VerifyType == -1 {
			cert = "not certified"
		}
		checked := ""
		if i == 0 {
			checked = " checked"
		}
		id := "account-" + html.EscapeString(a.AppID)
		b.WriteString("<p><input type=\"radio\" name=\"appid\" id=\"" + id + "\" value=\"" + html.EscapeString(a.AppID) + "\"" + checked + "> " +
			"<label for=\"" + id + "\"><b>" + html.EscapeString(a.Name) + "</b> " + html.EscapeString(a.AppID) + " — " +
			html.EscapeString(a.PrincipalName) + ", " + kind + ", " + cert + "</label></p>\n")
	}
	b.WriteString("</fieldset>\n<p><button id=\"confirm\" type=\"submit\">确认授权 Authorize</button></p>\n</form>\n")
	return b.String()
}

// writeAuthPage writes a page of the simulator's authorization, labelled
// as the simulator's so nobody mistakes it for WeChat's.
func writeAuthPage(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: a browser applies it to the redirect that follows
	// the confirmation, which leaves for our callback's origin.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" + html.EscapeString(title) + "</title>\n" +
		"<style>body{font:16px/1.5 sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}.error{color:#b42318}" +
		".sim{color:#59636e;font-size:.9rem}button{padding:.6rem 1.2rem}</style>\n</head>\n<body>\n" +
		"<p class=\"sim\">WeChat simulator: this page plays WeChat's authorization page.</p>\n<h1>" + html.EscapeString(title) + "</h1>\n" +
		body + "</body>\n</html>\n"))
}
