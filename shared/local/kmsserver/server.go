// Package kmsserver runs an in-process stand-in for AWS KMS on a loopback
// address, speaking KMS's own protocol (AWS JSON 1.1, X-Amz-Target
// TrentService.*), so that the real SDK client and the product's envelope
// encryption run unchanged in tests and local runs. It serves
// GenerateDataKey and Decrypt, with KMS's request and response shapes and
// its error types, and counts the calls it served.
//
// Requests are not authenticated: the SDK's signature is accepted as is.
package kmsserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"

	"wxchannel/shared/local/loopback"
)

// Identity of the stand-in's keys: their ARNs are those of this account
// and region.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// Server is a KMS stand-in on a loopback address.
type Server struct {
	// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:41234.
	URL string

	http *loopback.Server

	mu       sync.Mutex
	keys     map[string]*key   // by key id
	aliases  map[string]string // alias name ("alias/...") to key id
	calls    map[string]int
	failures map[string]*failure
}

// key is one KMS key: its material versions (rotation adds one; every
// version still decrypts what it encrypted) and whether it is enabled.
type key struct {
	id        string
	materials [][]byte
	disabled  bool
}

type failure struct {
	code string
	left int
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), keys: map[string]*key{}, aliases: map[string]string{},
		calls: map[string]int{}, failures: map[string]*failure{}}
	s.http = loopback.Start(ln, http.HandlerFunc(s.serve))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.http.Close() }

// CreateKey creates a symmetric encryption key with fresh key material and
// returns its ARN. A non-empty alias ("alias/name") names it as well.
func (s *Server) CreateKey(alias string) (string, error) {
	if alias != "" && !strings.HasPrefix(alias, "alias/") {
		return "", fmt.Errorf("alias %q does not start with alias/", alias)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	h := hex.EncodeToString(id[:])
	k := &key{id: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]}
	if err := k.rotate(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.aliases[alias]; alias != "" && taken {
		return "", fmt.Errorf("alias %s exists", alias)
	}
	s.keys[k.id] = k
	if alias != "" {
		s.aliases[alias] = k.id
	}
	return keyARN(k.id), nil
}

// RotateKey gives the key new material, as KMS's automatic rotation does:
// new data keys are encrypted with it, and every earlier one still
// decrypts.
func (s *Server) RotateKey(keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.resolveLocked(keyID)
	if !ok {
		return fmt.Errorf("no key %s", keyID)
	}
	return k.rotate()
}

// SetEnabled enables or disables a key; a disabled key answers
// DisabledException to GenerateDataKey and Decrypt.
func (s *Server) SetEnabled(keyID string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.resolveLocked(keyID)
	if !ok {
		return fmt.Errorf("no key %s", keyID)
	}
	k.disabled = !enabled
	return nil
}

// InjectError makes the next n calls of op ("GenerateDataKey", "Decrypt")
// fail with KMS's error code (ThrottlingException, KMSInternalException...).
// The SDK retries the retryable ones, and each attempt counts.
func (s *Server) InjectError(op, code string, n int) {
	s.mu.Lock()
	s.failures[op] = &failure{code: code, left: n}
	s.mu.Unlock()
}

// Calls returns how many requests of op reached the server since the last
// ResetCalls, failed ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// AllCalls returns the counters of every operation.
func (s *Server) AllCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls zeroes the counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.mu.Unlock()
}

func (k *key) rotate() error {
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return err
	}
	k.materials = append(k.materials, material)
	return nil
}

func keyARN(id string) string { return "arn:aws:kms:" + Region + ":" + Account + ":key/" + id }

// resolveLocked finds a key by any name KMS accepts for it: key id, key
// ARN, alias name or alias ARN.
func (s *Server) resolveLocked(name string) (*key, bool) {
	const arnPrefix = "arn:aws:kms:" + Region + ":" + Account + ":"
	name = strings.TrimPrefix(name, arnPrefix)
	if id, ok := strings.CutPrefix(name, "key/"); ok {
		name = id
	}
	if strings.HasPrefix(name, "alias/") {
		id, ok := s.aliases[name]
		if !ok {
			return nil, false
		}
		name = id
	}
	k, ok := s.keys[name]
	return k, ok
}
