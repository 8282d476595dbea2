package authorization

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"wxchannel/shared/config"
)

// StateTTL bounds an authorization flow from start to callback.
const StateTTL = 30 * time.Minute

// StartLinkTTL bounds a link to the start page: the documented life of
// the pre-auth code WeChat issues when the page opens (600 s in the
// examples of api_create_preauthcode).
const StartLinkTTL = 10 * time.Minute

// State errors.
var (
	ErrStateInvalid = errors.New("authorization state is forged or malformed")
	ErrStateExpired = errors.New("authorization state expired")
)

// Start link errors.
var (
	ErrStartLinkInvalid = errors.New("authorization start link is forged or malformed")
	ErrStartLinkExpired = errors.New("authorization start link expired")
)

// errTokenSignature is a token no key of the ring signed for its kind.
var errTokenSignature = errors.New("signature mismatch")

// tokenKind names what a token signed with the state key is for. Each kind
// is signed with its own key derived from the state key, so a token of one
// kind never verifies as another: a state is no start link, and a start
// link no state.
type tokenKind string

const (
	// kindState is the state WeChat's redirect brings back. It is signed
	// with the state key itself, as before start links existed, so states
	// in flight during a deployment stay valid.
	kindState tokenKind = ""
	// kindStartLink is the token of a link to the start page.
	kindStartLink tokenKind = "authorization start link"
	// kindFastRegister is the state WeChat's quick registration page
	// redirects back with.
	kindFastRegister tokenKind = "quick registration state"
)

// key is the kind's signing key derived from the state key.
func (k tokenKind) key(stateKey []byte) []byte {
	if k == kindState {
		return stateKey
	}
	mac := hmac.New(sha256.New, stateKey)
	mac.Write([]byte("wxchannel/" + string(k)))
	return mac.Sum(nil)
}

// flowState is what the signed state carries through WeChat's redirect.
type flowState struct {
	Tenant  string `json:"t"`
	Nonce   string `json:"n"`
	Expires int64  `json:"e"`
	// Kind is the kind of account the flow connects (absent: a mini
	// program, as in states issued before official accounts).
	Kind Kind `json:"k,omitempty"`
}

// startClaims is what a start link's token carries: the tenant whose admin
// asked for it (from the staff token, never from the page's request) and
// its expiry. It names no flow: the page begins one each time it opens.
type startClaims struct {
	Tenant  string `json:"t"`
	Expires int64  `json:"e"`
	Kind    Kind   `json:"k,omitempty"`
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// signState returns the state for s.
func signState(key []byte, s flowState) string { return signToken(key, kindState, s) }

// signStartLink returns the token of a start link for c.
func signStartLink(key []byte, c startClaims) string { return signToken(key, kindStartLink, c) }

// signToken returns payload.signature, both base64url, with the kind's key.
func signToken(stateKey []byte, kind tokenKind, claims any) string {
	payload, _ := json.Marshal(claims)
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, kind.key(stateKey))
	mac.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

var strictBase64 = base64.RawURLEncoding.Strict()

// notTokenChar is true outside base64url and the dot between its parts.
// The decoder skips line breaks even when strict, so they are refused
// here: a token has one spelling only.
func notTokenChar(r rune) bool {
	alnum := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
	return !alnum && r != '-' && r != '_' && r != '.'
}

// errMalformedToken is a token that is not payload.signature in base64url.
var errMalformedToken = errors.New("malformed token")

// openToken checks raw's spelling and that a key of the ring signed it for
// kind, and returns its payload: errMalformedToken or errTokenSignature.
func openToken(keys config.KeyRing, kind tokenKind, raw string) ([]byte, error) {
	if len(raw) > 512 || strings.IndexFunc(raw, notTokenChar) >= 0 {
		return nil, errMalformedToken
	}
	p, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, errMalformedToken
	}
	// Strict: one encoding per MAC and payload, so a token cannot be
	// re-spelled into a second string that also verifies.
	got, err := strictBase64.DecodeString(sig)
	if err != nil {
		return nil, errMalformedToken
	}
	signed := false
	for _, key := range keys.All() {
		mac := hmac.New(sha256.New, kind.key(key))
		mac.Write([]byte(p))
		signed = signed || hmac.Equal(got, mac.Sum(nil))
	}
	if !signed {
		return nil, errTokenSignature
	}
	payload, err := strictBase64.DecodeString(p)
	if err != nil {
		return nil, errMalformedToken
	}
	return payload, nil
}

// verifyFlowToken checks a flow token of kind (a state or a quick
// registration state): signed by a key of the ring, naming a tenant and a
// nonce, not expired.
func verifyFlowToken(keys config.KeyRing, kind tokenKind, raw string, now time.Time) (flowState, error) {
	payload, err := openToken(keys, kind, raw)
	if err != nil {
		return flowState{}, fmt.Errorf("%w: %w", ErrStateInvalid, err)
	}
	var s flowState
	if err := json.Unmarshal(payload, &s); err != nil || s.Tenant == "" || s.Nonce == "" {
		return flowState{}, ErrStateInvalid
	}
	if now.Unix() >= s.Expires {
		return flowState{}, ErrStateExpired
	}
	return s, nil
}

// verifyState checks the signature (with any key of the ring) and expiry.
// Single use is enforced by the caller with the nonce's item.
func verifyState(keys config.KeyRing, raw string, now time.Time) (flowState, error) {
	return verifyFlowToken(keys, kindState, raw, now)
}

// verifyStartLink checks a start link's token: signed for start links by a
// key of the ring, naming a tenant, not expired.
func verifyStartLink(keys config.KeyRing, raw string, now time.Time) (startClaims, error) {
	payload, err := openToken(keys, kindStartLink, raw)
	if err != nil {
		return startClaims{}, fmt.Errorf("%w: %w", ErrStartLinkInvalid, err)
	}
	var c startClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Tenant == "" || c.Expires == 0 {
		return startClaims{}, ErrStartLinkInvalid
	}
	if now.Unix() >= c.Expires {
		return startClaims{}, ErrStartLinkExpired
	}
	return c, nil
}
