package authorization

import (
	"html"
	"net/http"
	"strings"

	"wxchannel/shared/httpapi"
)

// ConsoleChannelPath is the console's channel page, where the admin
// started and where the binding shows: the result page links back to it on
// the same origin (the console is served beside the callback).
const ConsoleChannelPath = "/console/#/channel"

// resultPage is what the admin's browser shows after WeChat's redirect:
// the outcome in words, the problems with their fixes, and the way back.
type resultPage struct {
	Title    string
	Lines    []string
	Problems []Problem
	// Code is the error's code, for the admin to quote to support.
	Code string
}

// resultPageOf says in words what the callback answered.
func resultPageOf(res Result, err error) resultPage {
	if err != nil {
		e := httpapi.AsError(err)
		msg := e.Message
		if httpapi.Status(e.Kind) >= http.StatusInternalServerError {
			msg = "Something went wrong on our side. Try again from the console in a moment."
		}
		return resultPage{Title: "The connection did not finish", Lines: []string{msg}, Code: e.Code}
	}
	switch {
	case res.Pending:
		return resultPage{Title: "Almost done", Lines: []string{res.Message, "The console shows the connection as soon as it is finished."}}
	case res.Bound && res.OfficialAccount != nil:
		oa := res.OfficialAccount
		return resultPage{Title: "Your Official Account is connected", Lines: []string{oa.Name + " (" + oa.AppID + ")"}}
	case res.Bound:
		line := res.AppID
		if res.Binding != nil && res.Binding.Name != "" {
			line = res.Binding.Name + " (" + res.AppID + ")"
		}
		return resultPage{Title: "Your Mini Program is connected", Lines: []string{line,
			"The console shows it on the channel page; you can prepare and release your service there."}}
	}
	p := resultPage{Title: "The account could not be connected", Problems: res.Problems}
	if res.AppID != "" {
		p.Lines = []string{"WeChat authorized " + res.AppID + ", but it cannot be used yet:"}
	}
	return p
}

// render writes the whole page; every value from outside the page's own
// text is escaped.
func (p resultPage) render() string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + esc(p.Title) + "</title>\n<style>" + startPageCSS + "</style>\n</head>\n<body>\n<main>\n")
	b.WriteString("<h1 id=\"result\">" + esc(p.Title) + "</h1>\n")
	for _, l := range p.Lines {
		b.WriteString("<p>" + esc(l) + "</p>\n")
	}
	if len(p.Problems) > 0 {
		b.WriteString("<ul id=\"problems\">\n")
		for _, pr := range p.Problems {
			b.WriteString("<li><b>" + esc(pr.Message) + "</b><br>" + esc(pr.Solution) + " <span class=\"hint\">(" + esc(pr.Code) + ")</span></li>\n")
		}
		b.WriteString("</ul>\n")
	}
	if p.Code != "" {
		b.WriteString("<p class=\"hint\">Code: " + esc(p.Code) + "</p>\n")
	}
	b.WriteString("<p><a id=\"back-to-console\" class=\"button primary\" href=\"" + ConsoleChannelPath + "\">Back to the console</a></p>\n")
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}

// writeResultPage sends the page with the start page's headers.
func writeResultPage(w http.ResponseWriter, status int, page resultPage) {
	body := page.render()
	for k, v := range startPageHeaders {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
