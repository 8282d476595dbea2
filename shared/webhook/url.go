package webhook

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"wxchannel/shared/apperr"
)

// MaxURLLen is the longest webhook URL accepted, in bytes.
const MaxURLLen = 2048

// URLOptions relax the URL rules for local runs.
type URLOptions struct {
	AllowHTTP    bool // accept http:// as well as https://
	AllowPrivate bool // accept loopback, private and other non-public hosts
}

// privateNames are host names, and the suffixes of names, that never reach
// the public internet: RFC 6761's localhost, RFC 6762's multicast DNS, RFC
// 8375's home networks, ICANN's private-use .internal, and the common
// localdomain.
var privateNames = []string{"localhost", "local", "localdomain", "internal", "home.arpa"}

// ValidateURL checks a webhook URL as a tenant admin enters it. Its errors
// are apperr Invalid errors, worded for the admin; those about the host
// also wrap ErrForbiddenAddress.
//
// It judges the URL as written: a host name is not resolved here, because
// what it resolves to may change; the Client checks every address it dials.
func ValidateURL(raw string, o URLOptions) error {
	if strings.TrimSpace(raw) == "" {
		return invalidURL("enter the webhook URL")
	}
	if len(raw) > MaxURLLen {
		return invalidURL("the webhook URL is longer than " + strconv.Itoa(MaxURLLen) + " characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidURL("the webhook URL is not a valid URL; check it for spaces or stray characters")
	}
	switch {
	case u.Scheme == "http" && !o.AllowHTTP:
		return invalidURL("the webhook URL must start with https://; plain http:// is not accepted")
	case u.Scheme != "https" && u.Scheme != "http":
		return invalidURL("the webhook URL must start with https://")
	case u.Opaque != "" || u.Host == "":
		return invalidURL("the webhook URL must name a host, as in https://crm.example.com/webhooks")
	case u.User != nil:
		return invalidURL("the webhook URL must not contain a user name or password; the webhook signature proves who is calling")
	case strings.Contains(raw, "#"):
		return invalidURL("the webhook URL must not contain a fragment (the part from #)")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalidURL("the webhook URL's port must be a number from 1 to 65535")
		}
	}
	return validateHost(u.Hostname(), o)
}

// validateHost checks the host part of a webhook URL: an IP address, or a
// host name in ASCII.
func validateHost(host string, o URLOptions) error {
	if host == "" {
		return invalidURL("the webhook URL must name a host, as in https://crm.example.com/webhooks")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if o.AllowPrivate {
			return nil
		}
		if what, bad := forbidden(addr); bad {
			return invalidURL("the webhook URL points to " + what + " (" + host + "); use an address reachable from the internet").
				Wrap(ErrForbiddenAddress)
		}
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if !validHostName(name) {
		return invalidURL("the webhook URL's host is not a valid host name; write internationalised names in their xn-- form")
	}
	if numericLabel(name[strings.LastIndexByte(name, '.')+1:]) {
		// Browsers and C resolvers read 2130706433, 0x7f.1 or 127.1 as IPv4
		// addresses; only the four-decimal form is unambiguous.
		return invalidURL("the webhook URL's host looks like an IP address; write IPv4 addresses as four numbers, as in 203.0.113.10")
	}
	if !o.AllowPrivate && privateName(name) {
		return invalidURL("the webhook URL's host (" + host + ") is only reachable inside a private network; use a public host name").
			Wrap(ErrForbiddenAddress)
	}
	return nil
}

// validHostName reports whether name is a DNS name in ASCII: labels of 1 to
// 63 letters, digits, hyphens and underscores, 253 characters in all.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := range len(label) {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// numericLabel reports whether a host name's last label is a number, which
// the URL standard reads as an IPv4 address: decimal, or hexadecimal after 0x.
func numericLabel(label string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		label, digits = rest, "0123456789abcdef"
	}
	return strings.Trim(label, digits) == ""
}

// privateName reports whether name is one of privateNames or under one.
func privateName(name string) bool {
	for _, p := range privateNames {
		if name == p || strings.HasSuffix(name, "."+p) {
			return true
		}
	}
	return false
}

func invalidURL(message string) *apperr.Error {
	return apperr.E(apperr.Invalid, "invalid_webhook_url", message)
}
