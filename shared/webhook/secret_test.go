package webhook_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/webhook"
)

func TestNewSecretsAreRandomPrefixedAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		key, ok := strings.CutPrefix(s, webhook.SecretPrefix)
		if !ok {
			t.Fatalf("%q lacks the prefix %q", s, webhook.SecretPrefix)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(key); err != nil || len(raw) != 32 {
			t.Fatalf("%q: not 32 bytes of unpadded base64url (%d bytes, %v)", s, len(raw), err)
		}
		if err := webhook.ValidSecret(s); err != nil {
			t.Fatalf("ValidSecret(%q) = %v", s, err)
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func TestValidSecretTakesPrintableASCIIOfSensibleLength(t *testing.T) {
	tests := []struct {
		secret string
		ok     bool
	}{
		{strings.Repeat("a", 24), true},
		{strings.Repeat("a", 128), true},
		{`!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_` + "`abcdefghijklmnopqrstuvwxyz{|}~", true},
		{"", false},
		{strings.Repeat("a", 23), false},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 23) + " ", false},
		{strings.Repeat("a", 23) + "\t", false},
		{strings.Repeat("a", 23) + "\x7f", false},
		{strings.Repeat("a", 22) + "é", false},
		{strings.Repeat("a", 23) + "\x00", false},
	}
	for _, tt := range tests {
		err := webhook.ValidSecret(tt.secret)
		if (err == nil) != tt.ok {
			t.Errorf("ValidSecret(%q) = %v, want ok=%v", tt.secret, err, tt.ok)
		}
		if err != nil && (apperr.KindOf(err) != apperr.Invalid || apperr.CodeOf(err) != "invalid_webhook_secret") {
			t.Errorf("ValidSecret(%q) = %v, want an invalid_webhook_secret Invalid error", tt.secret, err)
		}
	}
}
