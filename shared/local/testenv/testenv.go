// Package testenv starts the real parts tests run against: the embedded
// DynamoDB-protocol server with the project's tables, and the WeChat
// simulator, wired into the same dependencies the functions use.
package testenv

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/kmsserver"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/logging"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat/wechatsim"
)

// Fixed test identities. The EncodingAESKey is the official sample key.
const (
	ComponentAppID  = "wx5c0a1f2e3d4b6789"
	ComponentSecret = "component-secret-for-tests"
	ComponentToken  = "componenttoken"
	EncodingAESKey  = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	PublicAppID     = "wx0public00000000a"
	PublicAppSecret = "public-app-secret-for-tests"
	SigningKey      = "test-signing-key-0123456789abcdef0123456789abcdef"
	// TokenEncryptionKey is the local key of the stored tokens (the base64
	// of 32 bytes).
	TokenEncryptionKey = "d3hjaGFubmVsIHRlc3QgdG9rZW4ga2V5ICgzMiBiKS4="
)

// Clock is a settable clock shared by our code and the simulator.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Env is one test's world.
type Env struct {
	Dynamo *dynamoserver.Server
	Sim    *wechatsim.Sim
	DB     *storage.DB
	// Calls counts the DynamoDB operations made through DB, at the client.
	Calls *storage.CallCounter
	Deps  *app.Deps
	Clock *Clock
	// S3 is the in-memory backend of the upload bucket's S3 server.
	S3 *s3mem.Backend
	// KMS is the KMS stand-in the tokens are sealed with (WithKMS), else nil.
	KMS *kmsserver.Server
	// Vars is the configuration environment (including secrets) the
	// dependencies were built from; change it with SetSecret.
	Vars map[string]string

	parts *stack.Parts
}

// UploadBucket is the photo bucket of the in-process S3 server.
const UploadBucket = stack.UploadBucket

var tableSeq atomic.Int64

// Option changes what New starts.
type Option func(*stack.PartsOptions)

// WithKMS seals the stored tokens with data keys from the KMS stand-in
// (Env.KMS), as the functions do in AWS, instead of with the local key.
func WithKMS() Option { return func(o *stack.PartsOptions) { o.KMS = true } }

// New starts a fresh embedded DynamoDB server, WeChat simulator and S3
// server for t through the local stack's one composition, creates the
// tables and returns dependencies pointing at them, on a settable clock.
// Everything is closed when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	clock := NewClock(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	n := tableSeq.Add(1)
	calls := &storage.CallCounter{}
	o := stack.PartsOptions{
		Vars: map[string]string{
			config.EnvStage:                "test",
			config.EnvPlatformTable:        fmt.Sprintf("platform-%d", n),
			config.EnvServiceTable:         fmt.Sprintf("service-%d", n),
			config.EnvComponentAppID:       ComponentAppID,
			config.EnvPublicAppID:          PublicAppID,
			config.EnvAPIBaseURL:           "https://api.example.test",
			config.SecretComponentSecret:   ComponentSecret,
			config.SecretComponentToken:    ComponentToken,
			config.SecretEncodingAESKey:    EncodingAESKey,
			config.SecretPublicAppSecret:   PublicAppSecret,
			config.SecretSessionSigningKey: SigningKey + "-session",
			config.SecretSceneSigningKey:   SigningKey + "-scene",
			config.SecretAdminSigningKey:   SigningKey + "-admin",
			config.SecretStateSigningKey:   SigningKey + "-state",
		},
		Now: clock.Now, Log: logging.Discard(), HTTPTimeout: 5 * time.Second,
		ClientOptions: []func(*dynamodb.Options){calls.Install},
	}
	o.Vars[config.SecretTokenEncryptionKey] = TokenEncryptionKey
	for _, opt := range opts {
		opt(&o)
	}
	p, err := stack.Assemble(context.Background(), o)
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(p.Close)
	return &Env{Dynamo: p.Dynamo, Sim: p.Sim, DB: p.Deps.DB, Calls: calls, Deps: p.Deps, Clock: clock, S3: p.S3, KMS: p.KMS, Vars: p.Vars,
		parts: p}
}

// SetSecret changes a secret as an operator does. A token manager reads
// its keys once: those built afterwards (tokens.FromDeps) use the new
// value, earlier ones keep theirs, as running Lambdas holding the fetched
// secrets do.
func (e *Env) SetSecret(name, value string) { e.parts.SetVar(name, value) }

// StaffToken signs a CRM staff token for a tenant with the test admin key,
// valid for 12 hours from the test clock's now.
func (e *Env) StaffToken(t testing.TB, tenantID, subject, role string) string {
	t.Helper()
	claims := staffauth.Claims{TenantID: tenantID, Subject: subject, Role: role}
	tok, err := staffauth.Issue([]byte(e.Vars[config.SecretAdminSigningKey]), claims, staffauth.MaxTTL, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
