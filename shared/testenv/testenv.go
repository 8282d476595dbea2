// Package testenv starts the real parts tests run against: the embedded
// DynamoDB-protocol server with the project's tables, and the WeChat
// simulator, wired into the same dependencies the functions use.
package testenv

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/localdynamo"
	"wxchannel/shared/logging"
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
	Dynamo *localdynamo.Server
	Sim    *wechatsim.Sim
	DB     *storage.DB
	// Calls counts the DynamoDB operations made through DB, at the client.
	Calls *storage.CallCounter
	Deps  *app.Deps
	Clock *Clock
	// S3 is the in-memory backend of the upload bucket's S3 server.
	S3 *s3mem.Backend
	// Vars is the configuration environment (including secrets) the
	// dependencies were built from.
	Vars map[string]string
}

var tableSeq atomic.Int64

// New starts a fresh embedded DynamoDB server and WeChat simulator for t,
// creates the tables and returns dependencies pointing at both. Everything
// is closed when the test ends.
func New(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	dyn, err := localdynamo.Start()
	if err != nil {
		t.Fatalf("start embedded DynamoDB: %v", err)
	}
	t.Cleanup(func() { _ = dyn.Close() })

	clock := NewClock(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	sim, err := wechatsim.Start(wechatsim.Options{
		ComponentAppID: ComponentAppID, ComponentSecret: ComponentSecret,
		Token: ComponentToken, EncodingAESKey: EncodingAESKey, Now: clock.Now,
		Logger: logging.Discard(),
	})
	if err != nil {
		t.Fatalf("start WeChat simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	sim.AddPublicApp(PublicAppID, PublicAppSecret)

	s3URL, s3Backend := StartS3(t)
	n := tableSeq.Add(1)
	vars := map[string]string{
		config.EnvStage:                "test",
		config.EnvPlatformTable:        fmt.Sprintf("platform-%d", n),
		config.EnvServiceTable:         fmt.Sprintf("service-%d", n),
		config.EnvDynamoDBEndpoint:     dyn.URL,
		config.EnvComponentAppID:       ComponentAppID,
		config.EnvPublicAppID:          PublicAppID,
		config.EnvWeChatBaseURL:        sim.URL,
		config.EnvAPIBaseURL:           "https://api.example.test",
		config.EnvUploadBucket:         UploadBucket,
		config.EnvS3Endpoint:           s3URL,
		config.SecretComponentSecret:   ComponentSecret,
		config.SecretComponentToken:    ComponentToken,
		config.SecretEncodingAESKey:    EncodingAESKey,
		config.SecretPublicAppSecret:   PublicAppSecret,
		config.SecretSessionSigningKey: SigningKey + "-session",
		config.SecretAdminSigningKey:   SigningKey + "-admin",
		config.SecretStateSigningKey:   SigningKey + "-state",
	}
	getenv := func(k string) string { return vars[k] }
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	calls := &storage.CallCounter{}
	db, err := storage.Open(ctx, storage.Options{Region: cfg.Region, Endpoint: cfg.DynamoDBEndpoint,
		PlatformTable: cfg.PlatformTable, ServiceTable: cfg.ServiceTable, ClientOptions: []func(*dynamodb.Options){calls.Install}})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.CreateTables(ctx, db.Client, map[string]string{"PlatformTable": cfg.PlatformTable, "ServiceTable": cfg.ServiceTable}); err != nil {
		t.Fatal(err)
	}
	deps := app.New(cfg, logging.Discard(), db, config.EnvSecrets{Getenv: getenv}, clock.Now, &http.Client{Timeout: 5 * time.Second})
	return &Env{Dynamo: dyn, Sim: sim, DB: db, Calls: calls, Deps: deps, Clock: clock, Vars: vars, S3: s3Backend}
}
