package testenv

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Respell changes the unused low bits in the last character of an
// unpadded base64url string (a MAC or a JWT signature of 32 bytes): a
// lenient decoder reads the same bytes from both spellings, a strict one
// refuses the new one. Attack tests use it to show that a signed value
// has exactly one accepted spelling.
func Respell(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	if i < 0 {
		return s
	}
	return s[:len(s)-1] + string(alphabet[i^1])
}

// PushReply checks a reply to a WeChat push and says whether the push was
// accepted: a 200 must carry the literal body "success" (what WeChat
// waits for), a refusal must be a 4xx with the error envelope; anything
// else, a 5xx above all, fails t.
func PushReply(t testing.TB, rec *httptest.ResponseRecorder) (accepted bool) {
	t.Helper()
	switch {
	case rec.Code == http.StatusOK:
		if rec.Body.String() != "success" {
			t.Fatalf("200 with %q", rec.Body.String())
		}
		return true
	case rec.Code >= 400 && rec.Code < 500:
		var out struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Error.Code == "" || out.Error.Message == "" {
			t.Fatalf("%d without an error envelope: %s", rec.Code, rec.Body)
		}
		return false
	}
	t.Fatalf("status %d: %s", rec.Code, rec.Body)
	return false
}
