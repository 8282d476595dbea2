package staffauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// PublicKeys are the CRM's token-signing public keys, by key id. They are
// configuration, not secrets: whoever reads them cannot mint a token.
type PublicKeys struct {
	byID map[string]any
	only any // the single key of a PEM document, matched without a kid
}

// ParsePublicKeys reads a JWKS document ({"keys":[...]}, RSA and P-256 EC
// keys, each with its kid) or one PEM public key.
func ParsePublicKeys(doc []byte) (*PublicKeys, error) {
	text := strings.TrimSpace(string(doc))
	if strings.HasPrefix(text, "-----BEGIN") {
		return parsePEM([]byte(text))
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, errors.New("neither a JWKS document nor a PEM public key")
	}
	out := &PublicKeys{byID: map[string]any{}}
	for i, k := range set.Keys {
		key, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("key %d (%q): %w", i, k.Kid, err)
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("key %d has no kid", i)
		}
		out.byID[k.Kid] = key
	}
	if len(out.byID) == 0 {
		return nil, errors.New("the JWKS document holds no key")
	}
	return out, nil
}

func parsePEM(doc []byte) (*PublicKeys, error) {
	block, _ := pem.Decode(doc)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := jwt.ParseRSAPublicKeyFromPEM(doc); err == nil {
		return &PublicKeys{only: k}, nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(doc); err == nil {
		return &PublicKeys{only: k}, nil
	}
	return nil, errors.New("the PEM block is neither an RSA nor an EC public key")
}

// keyFunc finds the key a token names, for the token's algorithm only.
func (p *PublicKeys) keyFunc(t *jwt.Token) (any, error) {
	key := p.only
	if kid, _ := t.Header["kid"].(string); kid != "" && p.byID != nil {
		key = p.byID[kid]
	}
	switch key.(type) {
	case *rsa.PublicKey:
		if t.Method.Alg() == "RS256" {
			return key, nil
		}
	case *ecdsa.PublicKey:
		if t.Method.Alg() == "ES256" {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w: no %s key for this token", jwt.ErrTokenUnverifiable, t.Method.Alg())
}

// jwk is one key of a JWKS document (RFC 7517).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) publicKey() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := bigInt(k.N)
		e, err2 := bigInt(k.E)
		if err1 != nil || err2 != nil || n.BitLen() < 2048 || !e.IsInt64() {
			return nil, errors.New("not an RSA public key of at least 2048 bits")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, errors.New("only P-256 EC keys (ES256) are accepted")
		}
		x, err1 := coordinate(k.X)
		y, err2 := coordinate(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("malformed EC coordinates")
		}
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("the EC point is not on P-256")
		}
		return key, nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}

// coordinate decodes a P-256 coordinate to its 32 big-endian bytes.
func coordinate(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > 32 {
		return nil, errors.New("malformed coordinate")
	}
	return append(make([]byte, 32-len(b)), b...), nil
}

func bigInt(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("malformed base64url number")
	}
	return new(big.Int).SetBytes(b), nil
}
