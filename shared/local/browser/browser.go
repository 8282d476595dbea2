// Package browser plays a person's web browser on our HTML pages, for the
// tests and the walkthrough: it finds the links a person would click and
// the Referer header the browser sends with the click, as the page's
// Referrer-Policy says.
package browser

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Page is an HTML page as a browser received it from URL.
type Page struct {
	URL    string
	Header http.Header
	Body   string
}

var (
	anchorTag = regexp.MustCompile(`(?is)<a\s[^>]*>`)
	attribute = regexp.MustCompile(`(?is)([a-z][a-z0-9-]*)\s*=\s*"([^"]*)"`)
)

// Link is an <a> element of a page: its id and its target, with character
// references decoded as a browser does.
type Link struct {
	ID, Href string
}

// Links lists the page's links in the page's order.
func (p Page) Links() []Link {
	var out []Link
	for _, tag := range anchorTag.FindAllString(p.Body, -1) {
		var l Link
		for _, m := range attribute.FindAllStringSubmatch(tag, -1) {
			switch strings.ToLower(m[1]) {
			case "id":
				l.ID = html.UnescapeString(m[2])
			case "href":
				l.Href = html.UnescapeString(m[2])
			}
		}
		out = append(out, l)
	}
	return out
}

// LinkTo returns the target of the page's first link to a page under
// prefix ("" when there is none): the button a person looks for.
func (p Page) LinkTo(prefix string) string {
	for _, l := range p.Links() {
		if strings.HasPrefix(l.Href, prefix) {
			return l.Href
		}
	}
	return ""
}

// Referer returns the Referer header the browser sends when the person
// follows a link from the page to target ("" for none), under the page's
// Referrer-Policy (https://www.w3.org/TR/referrer-policy/; browsers default
// to strict-origin-when-cross-origin).
func (p Page) Referer(target string) string {
	from, err := url.Parse(p.URL)
	if err != nil {
		return ""
	}
	to, err := url.Parse(target)
	if err != nil {
		return ""
	}
	full := *from
	full.User, full.Fragment, full.RawFragment = nil, "", ""
	origin := from.Scheme + "://" + from.Host + "/"
	sameOrigin := from.Scheme == to.Scheme && strings.EqualFold(from.Host, to.Host)
	downgrade := from.Scheme == "https" && to.Scheme != "https"
	switch policy(p.Header) {
	case "no-referrer":
		return ""
	case "unsafe-url":
		return full.String()
	case "origin":
		return origin
	case "same-origin":
		return pick(sameOrigin, full.String(), "")
	case "origin-when-cross-origin":
		return pick(sameOrigin, full.String(), origin)
	case "no-referrer-when-downgrade":
		return pick(downgrade, "", full.String())
	case "strict-origin":
		return pick(downgrade, "", origin)
	}
	// strict-origin-when-cross-origin
	if sameOrigin {
		return full.String()
	}
	return pick(downgrade, "", origin)
}

// policy is the page's Referrer-Policy: the last token a browser knows of
// its comma-separated list ("" when none is).
func policy(h http.Header) string {
	known := map[string]bool{"no-referrer": true, "no-referrer-when-downgrade": true, "same-origin": true, "origin": true,
		"strict-origin": true, "origin-when-cross-origin": true, "strict-origin-when-cross-origin": true, "unsafe-url": true}
	out := ""
	for _, v := range h.Values("Referrer-Policy") {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.ToLower(strings.TrimSpace(tok)); known[tok] {
				out = tok
			}
		}
	}
	return out
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
