package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"wxchannel/shared/apperr"
)

// SecretPrefix begins every secret NewSecret makes, so one found in a log or
// a repository is recognisable for what it is.
const SecretPrefix = "whsec_"

// Bounds of a tenant-supplied secret. The lower one keeps a guessable word
// out; the upper one keeps the header work small.
const (
	MinSecretLen = 24
	MaxSecretLen = 128
)

// NewSecret returns a fresh signing secret: "whsec_" and 32 random bytes in
// unpadded base64url. The whole string, prefix included, is the HMAC key.
func NewSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(key[:]), nil
}

// ValidSecret accepts a secret a tenant supplies: 24 to 128 printable ASCII
// characters. Spaces are refused too: forms and shells trim them, and a
// secret that silently loses a character never verifies.
func ValidSecret(s string) error {
	if len(s) < MinSecretLen || len(s) > MaxSecretLen {
		return apperr.Errorf(apperr.Invalid, "invalid_webhook_secret",
			"the webhook secret must be %d to %d characters long", MinSecretLen, MaxSecretLen)
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return apperr.E(apperr.Invalid, "invalid_webhook_secret",
				"the webhook secret may contain only letters, digits and ASCII punctuation, without spaces")
		}
	}
	return nil
}
