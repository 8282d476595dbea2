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

// State errors.
var (
	ErrStateInvalid = errors.New("authorization state is forged or malformed")
	ErrStateExpired = errors.New("authorization state expired")
	// errStateSignature is a state no key of the ring signed.
	errStateSignature = fmt.Errorf("%w: signature mismatch", ErrStateInvalid)
)

// flowState is what the signed state carries through WeChat's redirect.
type flowState struct {
	Tenant  string `json:"t"`
	Nonce   string `json:"n"`
	Expires int64  `json:"e"`
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// signState returns payload.signature, both base64url.
func signState(key []byte, s flowState) string {
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

var strictBase64 = base64.RawURLEncoding.Strict()

// notStateChar is true outside base64url and the dot between its parts.
// The decoder skips line breaks even when strict, so they are refused
// here: a state has one spelling only.
func notStateChar(r rune) bool {
	alnum := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
	return !alnum && r != '-' && r != '_' && r != '.'
}

// verifyState checks the signature (with any key of the ring) and expiry.
// Single use is enforced by the caller with the nonce's item.
func verifyState(keys config.KeyRing, raw string, now time.Time) (flowState, error) {
	if len(raw) > 512 || strings.IndexFunc(raw, notStateChar) >= 0 {
		return flowState{}, ErrStateInvalid
	}
	p, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return flowState{}, ErrStateInvalid
	}
	// Strict: one encoding per MAC and payload, so a state cannot be
	// re-spelled into a second string that also verifies.
	got, err := strictBase64.DecodeString(sig)
	if err != nil {
		return flowState{}, ErrStateInvalid
	}
	signed := false
	for _, key := range keys.All() {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(p))
		signed = signed || hmac.Equal(got, mac.Sum(nil))
	}
	if !signed {
		return flowState{}, errStateSignature
	}
	payload, err := strictBase64.DecodeString(p)
	if err != nil {
		return flowState{}, ErrStateInvalid
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
