package authorization

import (
	"crypto/sha256"
	_ "embed" // the page's template and style sheet
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wxchannel/shared/httpapi"
)

// The start page is the page on our API domain from which the admin opens
// WeChat's authorization page. WeChat checks the Referer of that request
// against the start-page domain registered in its console: a link typed
// into the address bar, redirected to by a server or clicked on the CRM's
// domain is refused ("授权入口页所在域名：空"). So the page offers plain
// links the admin clicks, and its Referrer-Policy sends WeChat our origin
// (never the path, which holds the token). See
// https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/troubleshooting/authorization_troubleshooting.html

//go:embed startpage/page.css
var startPageCSS string

// StartPageReferrerPolicy makes the browser send WeChat only our origin:
// WeChat needs the domain, and the path carries the start link's token.
const StartPageReferrerPolicy = "origin"

// startPageHeaders are sent with every start page, the error pages too.
// The policy allows no script, frame, form or image, and the page's one
// style sheet by its hash.
var startPageHeaders = map[string]string{
	"Content-Type": "text/html; charset=utf-8",
	"Content-Security-Policy": "default-src 'none'; style-src '" + styleHash(startPageCSS) + "'; base-uri 'none'; " +
		"form-action 'none'; frame-ancestors 'none'",
	"Referrer-Policy":            StartPageReferrerPolicy,
	"X-Frame-Options":            "DENY",
	"X-Content-Type-Options":     "nosniff",
	"Cache-Control":              "no-store",
	"Strict-Transport-Security":  "max-age=31536000",
	"Cross-Origin-Opener-Policy": "same-origin",
}

// styleHash is the CSP source of an inline style sheet.
func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// device is where the page is opened, which decides the link it puts
// first: WeChat's mobile authorization link works only inside WeChat on a
// phone, the PC page shows a QR code to scan with one.
type device string

const (
	deviceComputer device = "computer"
	deviceWeChat   device = "wechat"
	devicePhone    device = "phone" // a phone browser other than WeChat's
)

// deviceOf reads the User-Agent. WeChat's desktop apps also say
// MicroMessenger, with WindowsWechat or MacWechat: those are computers.
func deviceOf(userAgent string) device {
	inWeChat := strings.Contains(userAgent, "MicroMessenger")
	desktop := strings.Contains(userAgent, "WindowsWechat") || strings.Contains(userAgent, "MacWechat")
	mobile := strings.Contains(userAgent, "Mobi") || strings.Contains(userAgent, "Android") || strings.Contains(userAgent, "iPhone") ||
		strings.Contains(userAgent, "iPad")
	switch {
	case inWeChat && !desktop:
		return deviceWeChat
	case mobile && !desktop:
		return devicePhone
	}
	return deviceComputer
}

// startPage is what the template shows: the links to WeChat, or the
// problem with the link and its fix.
type startPage struct {
	Title   string
	Device  device
	Links   *Links
	Until   string
	Problem string
	Fix     string
}

// beijing is the admins' time zone (UTC+8 all year).
var beijing = time.FixedZone("Beijing time", 8*60*60)

const startAgain = "Go back to the console and click “Connect WeChat Mini Program” again: it gives you a new link."

// handleStartPage serves the start page of a start link, or an error page
// saying what is wrong with the link and what to do.
func (h *callbackHandler) handleStartPage(w http.ResponseWriter, r *http.Request) {
	page := startPage{Device: deviceOf(r.UserAgent())}
	links, err := h.flow.OpenStartLink(r.Context(), r.URL.Query().Get("t"))
	status := http.StatusOK
	if err != nil {
		status = page.problem(w, err)
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		h.log.Log(r.Context(), level, "start page refused", "status", status, "err", err.Error())
	} else {
		page.Title, page.Links = "Connect your WeChat Mini Program", &links
		if links.Kind == KindOfficialAccount {
			page.Title = "Connect your WeChat Official Account"
		}
		page.Until = links.ExpiresAt.In(beijing).Format("15:04") + " (Beijing time)"
	}
	writeStartPage(w, status, page)
}

// problem fills an error page for err and returns its status: 410 for an
// expired link, 400 for one we did not sign (or signed for something
// else), else the status of err's kind.
func (p *startPage) problem(w http.ResponseWriter, err error) int {
	switch {
	case errors.Is(err, ErrStartLinkExpired):
		p.Title, p.Problem, p.Fix = "This link has expired", "Links to this page work for 10 minutes.", startAgain
		return http.StatusGone
	case errors.Is(err, ErrStartLinkInvalid):
		p.Title, p.Problem, p.Fix = "This link is not valid", "It may have been copied incompletely or changed.", startAgain
		return http.StatusBadRequest
	}
	he := httpapi.AsError(err)
	status := httpapi.Status(he.Kind)
	if status == http.StatusServiceUnavailable {
		p.Title, p.Problem = "WeChat is not ready", "We cannot reach WeChat's authorization service right now."
		p.Fix = "Try again in a few minutes. If this keeps happening, tell your service provider."
		if secs := int(he.RetryAfter.Seconds()); secs > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		return status
	}
	p.Title, p.Problem, p.Fix = "Something went wrong", "This page could not be prepared.", "Try again in a moment."
	if status < http.StatusInternalServerError {
		status = http.StatusInternalServerError // a start link has no client mistake besides the link
	}
	return status
}

// writeStartPage renders the page with its headers; the page is rendered
// whole before anything is sent.
func writeStartPage(w http.ResponseWriter, status int, page startPage) {
	body := page.render()
	for k, v := range startPageHeaders {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
