package authorization

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/config"
	"wxchannel/shared/local/testenv"
)

// FuzzVerifyState: the state comes back to us through WeChat's redirect,
// so anyone can send any string. Only a state we signed with our key
// verifies, and then to exactly what we signed; everything else is
// ErrStateInvalid or, for one of ours past its time, ErrStateExpired.
func FuzzVerifyState(f *testing.F) {
	key := []byte("state-signing-key-for-the-fuzz-test")
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	issued := map[string]flowState{}
	for _, s := range []flowState{
		{Tenant: "acme", Nonce: "0123456789abcdef0123456789abcdef", Expires: now.Add(StateTTL).Unix()},
		{Tenant: "globex", Nonce: "fedcba9876543210fedcba9876543210", Expires: now.Add(-time.Minute).Unix()},
	} {
		raw := signState(key, s)
		issued[raw] = s
		p, mac, _ := strings.Cut(raw, ".")
		f.Add(raw)
		f.Add(p + "." + mac[:len(mac)-1] + "A")
		f.Add(p + "." + testenv.Respell(mac))
		f.Add(p + "A." + mac)
		f.Add(p)
		f.Add("." + mac)
	}
	f.Add(signState([]byte("another-key"), flowState{Tenant: "acme", Nonce: "n", Expires: now.Add(time.Hour).Unix()}))
	f.Add(strings.Repeat("a", 600) + ".b")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := verifyState(config.KeyRing{Current: key}, raw, now)
		want, ours := issued[raw]
		switch {
		case err == nil:
			if !ours || got != want || now.Unix() >= want.Expires {
				t.Fatalf("verifyState(%q) accepted %+v", raw, got)
			}
		case errors.Is(err, ErrStateExpired):
			if !ours || now.Unix() < want.Expires {
				t.Fatalf("verifyState(%q) = expired for a state we did not issue or that is still valid", raw)
			}
		case !errors.Is(err, ErrStateInvalid):
			t.Fatalf("verifyState(%q) = %v", raw, err)
		case ours && now.Unix() < want.Expires:
			t.Fatalf("verifyState refused a state we issued: %v", err)
		}
	})
}

// FuzzVerifyStartLink: a start link's token arrives in a public page's
// query, so anyone can send any string. Only a start link we signed
// verifies, and then to exactly what we signed; a state signed with the
// same key, or anything else, is ErrStartLinkInvalid; one of ours past
// its time is ErrStartLinkExpired.
func FuzzVerifyStartLink(f *testing.F) {
	key := []byte("state-signing-key-for-the-fuzz-test")
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	issued := map[string]startClaims{}
	for _, c := range []startClaims{{Tenant: "acme", Expires: now.Add(StartLinkTTL).Unix()}, {Tenant: "globex", Expires: now.Unix()}} {
		raw := signStartLink(key, c)
		issued[raw] = c
		p, mac, _ := strings.Cut(raw, ".")
		f.Add(raw)
		f.Add(p + "." + testenv.Respell(mac))
		f.Add(p + "A." + mac)
		f.Add(p)
	}
	f.Add(signState(key, flowState{Tenant: "acme", Nonce: "0123456789abcdef", Expires: now.Add(StateTTL).Unix()}))
	f.Add(signToken(key, kindState, startClaims{Tenant: "acme", Expires: now.Add(time.Hour).Unix()}))
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := verifyStartLink(config.KeyRing{Current: key}, raw, now)
		want, ours := issued[raw]
		switch {
		case err == nil:
			if !ours || got != want || now.Unix() >= want.Expires {
				t.Fatalf("verifyStartLink(%q) accepted %+v", raw, got)
			}
		case errors.Is(err, ErrStartLinkExpired):
			if !ours || now.Unix() < want.Expires {
				t.Fatalf("verifyStartLink(%q) = expired for a link we did not issue or that is still valid", raw)
			}
		case !errors.Is(err, ErrStartLinkInvalid):
			t.Fatalf("verifyStartLink(%q) = %v", raw, err)
		case ours && now.Unix() < want.Expires:
			t.Fatalf("verifyStartLink refused a link we issued: %v", err)
		}
		if _, err := verifyState(config.KeyRing{Current: key}, raw, now); err == nil && ours {
			t.Fatalf("a start link verified as a state: %q", raw)
		}
	})
}
