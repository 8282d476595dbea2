package wechatsim

import "time"

// tokenSet holds the current token and the previous one, which WeChat keeps
// valid for a grace period after issuing a new one.
type tokenSet struct {
	current, previous             string
	currentExpiry, previousExpiry time.Time
}

func newTokenSet() *tokenSet { return &tokenSet{} }

// issue makes a new current token; the old one stays valid until
// min(its expiry, now+grace).
func (t *tokenSet) issue(prefix string, now time.Time, ttl, grace time.Duration) string {
	if t.current != "" {
		t.previous = t.current
		t.previousExpiry = t.currentExpiry
		if limit := now.Add(grace); limit.Before(t.previousExpiry) {
			t.previousExpiry = limit
		}
	}
	t.current = prefix + randomHex(16)
	t.currentExpiry = now.Add(ttl)
	return t.current
}

// check returns 0 for a valid token, 42001 for an expired one and 40001 for
// an unknown one.
func (t *tokenSet) check(token string, now time.Time) int {
	switch token {
	case "":
		return 41001
	case t.current:
		if now.Before(t.currentExpiry) {
			return 0
		}
		return 42001
	case t.previous:
		if now.Before(t.previousExpiry) {
			return 0
		}
		return 42001
	}
	return 40001
}

// invalidate forgets every token (an authorization revoked).
func (t *tokenSet) invalidate() { *t = tokenSet{} }
