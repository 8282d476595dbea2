package authorization

import (
	"html"
	"strings"
)

// The start page is rendered by hand rather than with html/template: a
// function that executes a template keeps every exported method of every
// type in its binary (the linker cannot tell which ones reflection will
// call), which made authcallback 4 MB larger. Every value from outside
// the page's own text goes through html.EscapeString.

// render writes the whole page.
func (p startPage) render() string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + esc(p.Title) + "</title>\n<style>" + startPageCSS + "</style>\n</head>\n<body>\n")
	b.WriteString("<main data-device=\"" + esc(string(p.Device)) + "\">\n<h1>" + esc(p.Title) + "</h1>\n")
	if p.Links != nil {
		p.renderStart(&b)
	} else {
		b.WriteString("<p>" + esc(p.Problem) + "</p>\n<p>" + esc(p.Fix) + "</p>\n")
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}

const startIntro = `<p>This connects your enterprise's WeChat Mini Program to our platform, so that we can
publish your after-sales service in it for you. You need to be an administrator of the
Mini Program.</p>
`

const wechatSteps = `<ol>
<li>Tap <b>Authorize in WeChat</b>.</li>
<li>Choose your enterprise's Mini Program and keep every permission selected.</li>
<li>Confirm. WeChat brings you back and shows whether the connection worked.</li>
</ol>
`

const computerSteps = `<ol>
<li>Click <b>Show the QR code</b>. WeChat's page opens with a QR code.</li>
<li>Scan it with WeChat on your phone, choose your enterprise's Mini Program and keep every
permission selected.</li>
<li>Confirm on your phone. This browser comes back and shows whether the connection worked.</li>
</ol>
`

// renderStart writes the steps and the two links, the one for the device
// first.
func (p startPage) renderStart(b *strings.Builder) {
	intro, steps := startIntro, [2]string{wechatSteps, computerSteps}
	if p.Links.Kind == KindOfficialAccount {
		// The same steps, for the enterprise's Official Account.
		intro = strings.ReplaceAll(intro, "Mini Program", "Official Account")
		for i := range steps {
			steps[i] = strings.ReplaceAll(steps[i], "Mini Program", "Official Account")
		}
	}
	b.WriteString(intro)
	pc := p.link("wechat-pc", p.Device != deviceWeChat, p.Links.PCURL, "Show the QR code")
	mobile := p.link("wechat-mobile", p.Device == deviceWeChat, p.Links.MobileURL, "Authorize in WeChat")
	if p.Device == deviceWeChat {
		b.WriteString(steps[0] + mobile + pc)
		b.WriteString("<p class=\"hint\">The second button is for a computer: it shows a QR code to scan with WeChat.</p>\n")
	} else {
		b.WriteString(steps[1] + pc + mobile)
		b.WriteString("<p class=\"hint\">The second button works only inside WeChat on a phone")
		if p.Device == devicePhone {
			b.WriteString(": this\nbrowser is not WeChat, so use a computer, or open the console in WeChat")
		}
		b.WriteString(".</p>\n")
	}
	b.WriteString("<p class=\"until\">These buttons work until " + html.EscapeString(p.Until) +
		". After that, go back to the console and\nclick <b>Connect WeChat Mini Program</b> again.</p>\n")
}

// link is one button.
func (p startPage) link(id string, primary bool, href, text string) string {
	class := "button"
	if primary {
		class += " primary"
	}
	return "<p><a id=\"" + id + "\" class=\"" + class + "\" href=\"" + html.EscapeString(href) + "\">" + text + "</a></p>\n"
}
