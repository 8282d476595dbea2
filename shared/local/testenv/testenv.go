// Package testenv starts the real parts tests run against: the embedded
// DynamoDB-protocol server with the project's tables, and the WeChat
// simulator, wired into the same dependencies the functions use.
//
// With DYNAMODB_ENDPOINT set, every test uses that DynamoDB-protocol
// server instead of the embedded one (DynamoDB Local, moto, or DynamoDB
// itself with the environment's AWS credentials and AWS_REGION), each
// test under fresh table names it deletes afterwards. Tests that need the
// embedded server's own emulation (forced transaction conflicts, a lagging
// index) skip there, saying why (Env.Embedded).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/dynamofault"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/iamcheck"
	"wxchannel/shared/local/kmsserver"
	"wxchannel/shared/local/sqsserver"
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
	// Dynamo is the embedded DynamoDB server, nil when DYNAMODB_ENDPOINT
	// names another one: use Embedded to reach it.
	Dynamo *dynamoserver.Server
	Sim    *wechatsim.Sim
	DB     *storage.DB
	// Calls counts the DynamoDB operations made through DB, at the client
	// (once per call whatever the SDK retries).
	Calls *storage.CallCounter
	// Faults injects DynamoDB failures into DB's client and counts the
	// attempts it sends, whatever server is behind the endpoint.
	Faults *dynamofault.Injector
	Deps   *app.Deps
	Clock  *Clock
	// S3 is the in-memory backend of the upload bucket's S3 server.
	S3 *s3mem.Backend
	// KMS is the KMS stand-in the tokens are sealed with (WithKMS), else nil.
	KMS *kmsserver.Server
	// Vars is the configuration environment (including secrets) the
	// dependencies were built from; change it with SetSecret.
	Vars map[string]string

	parts *stack.Parts
}

// EventPipeline maps the event functions w holds to the stand-ins.
func (e *Env) EventPipeline(ctx context.Context, w lambdarun.Workers, log *slog.Logger) (*stack.EventPipeline, error) {
	return e.parts.EventPipeline(ctx, w, log)
}

// SQS is the SQS stand-in holding the events queue.
func (e *Env) SQS() *sqsserver.Server { return e.parts.SQS }

// EventsQueueURLs are the events queue and its dead-letter queue.
func (e *Env) EventsQueueURLs() (queue, deadLetters string) {
	return e.parts.EventsQueueURL, e.parts.EventsDeadLetterURL
}

// UploadBucket is the photo bucket of the in-process S3 server.
const UploadBucket = stack.UploadBucket

var tableSeq atomic.Int64

// runID keeps this process's table names apart from other runs' on a
// shared external server.
var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

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
	calls, faults := &storage.CallCounter{}, &dynamofault.Injector{}
	platform, service := fmt.Sprintf("wxchannel-test-%s-%d-platform", runID, n), fmt.Sprintf("wxchannel-test-%s-%d-service", runID, n)
	iam := &iamcheck.Recorder{}
	iam.SetTables(map[string]string{platform: "PlatformTable", service: "ServiceTable"})
	o := stack.PartsOptions{
		Vars: map[string]string{
			config.EnvStage:                "test",
			config.EnvRegion:               os.Getenv(config.EnvRegion),
			config.EnvPlatformTable:        platform,
			config.EnvServiceTable:         service,
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
		ClientOptions:    []func(*dynamodb.Options){calls.Install, faults.Install, iam.Install},
		DynamoDBEndpoint: os.Getenv(config.EnvDynamoDBEndpoint),
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
	t.Cleanup(func() { reportConflicts(t, calls.Conflicts()) })
	t.Cleanup(func() { CheckIAM(t, iam) })
	if p.Dynamo == nil {
		t.Cleanup(func() { faults.Clear(); dropTables(t, p) })
	}
	return &Env{Dynamo: p.Dynamo, Sim: p.Sim, DB: p.Deps.DB, Calls: calls, Faults: faults, Deps: p.Deps, Clock: clock, S3: p.S3,
		KMS: p.KMS, Vars: p.Vars, parts: p}
}

// CheckIAM fails t for each DynamoDB call a function made that its policy
// in template.yaml does not allow (AWS would answer AccessDenied), and
// saves the calls for the check over the whole suite (cmd/iamcoverage).
func CheckIAM(t testing.TB, rec *iamcheck.Recorder) {
	t.Helper()
	calls := rec.Calls()
	if len(calls) == 0 {
		return
	}
	policies, err := templatePolicies()
	if err != nil {
		t.Errorf("IAM check: %v", err)
		return
	}
	for _, c := range policies.Denied(calls, nil) { // a component's calls are checked over the suite
		t.Errorf("IAM: template.yaml does not allow %s (AccessDenied in AWS)", c)
	}
	if err := iamcheck.Save(os.Getenv(iamcheck.RecordEnv), calls); err != nil {
		t.Errorf("IAM record: %v", err)
	}
}

// RecordIAM records the DynamoDB calls a dev stack's functions make (the
// walkthrough's); call the returned function once the stack has started,
// and the calls are checked against template.yaml when t ends.
func RecordIAM(t testing.TB, o *stack.Options) (started func(*stack.Stack)) {
	rec := &iamcheck.Recorder{}
	o.ClientOptions = append(o.ClientOptions, rec.Install)
	return func(st *stack.Stack) {
		cfg := st.Deps.Config
		rec.SetTables(map[string]string{cfg.PlatformTable: "PlatformTable", cfg.ServiceTable: "ServiceTable"})
		t.Cleanup(func() { CheckIAM(t, rec) })
	}
}

var templatePolicies = sync.OnceValues(func() (iamcheck.Policies, error) {
	path, err := iamcheck.TemplatePath()
	if err != nil {
		return nil, err
	}
	return iamcheck.Load(path)
})

// ConflictReportEnv names a file to which each test that met transaction
// conflicts appends a line: how many attempts DynamoDB cancelled and how
// many calls then got through on a retry.
const ConflictReportEnv = "WXCHANNEL_CONFLICT_REPORT"

func reportConflicts(t testing.TB, c storage.ConflictCounts) {
	path := os.Getenv(ConflictReportEnv)
	if path == "" || c.Cancelled == 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Logf("conflict report: %v", err)
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintf(f, "%s cancelled=%d resolved=%d unresolved=%d\n", t.Name(), c.Cancelled, c.Resolved, c.Unresolved)
}

// External reports whether the tests run against a DynamoDB-protocol
// server named by DYNAMODB_ENDPOINT rather than the embedded one.
func External() bool { return os.Getenv(config.EnvDynamoDBEndpoint) != "" }

// Embedded returns the embedded DynamoDB server, or skips t (with why the
// test needs it) when the tests run against another endpoint.
func (e *Env) Embedded(t testing.TB, why string) *dynamoserver.Server {
	t.Helper()
	if e.Dynamo == nil {
		t.Skipf("needs the embedded DynamoDB server (%s); DYNAMODB_ENDPOINT names another", why)
	}
	return e.Dynamo
}

// StackOn points a dev stack's options at DYNAMODB_ENDPOINT under fresh
// table names, deleted when t ends; without it the stack keeps the
// embedded server.
func StackOn(t testing.TB, o *stack.Options) {
	endpoint := os.Getenv(config.EnvDynamoDBEndpoint)
	if endpoint == "" {
		return
	}
	n := tableSeq.Add(1)
	tables := map[string]string{
		config.EnvPlatformTable: fmt.Sprintf("wxchannel-test-%s-%d-platform", runID, n),
		config.EnvServiceTable:  fmt.Sprintf("wxchannel-test-%s-%d-service", runID, n),
	}
	getenv := o.Getenv
	o.DynamoDBEndpoint = endpoint
	o.Getenv = func(k string) string {
		if v, ok := tables[k]; ok {
			return v
		}
		if getenv != nil {
			return getenv(k)
		}
		return ""
	}
	t.Cleanup(func() {
		region := os.Getenv(config.EnvRegion)
		if region == "" {
			region = "us-east-1" // the stack's default
		}
		db, err := storage.Open(context.Background(), storage.Options{Region: region, Endpoint: endpoint})
		if err != nil {
			t.Logf("drop the stack's tables: %v", err)
			return
		}
		for _, name := range tables {
			if _, err := db.Client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
				t.Logf("delete table %s: %v", name, err)
			}
		}
	})
}

// dropTables deletes a test's tables from an external server.
func dropTables(t testing.TB, p *stack.Parts) {
	ctx := context.Background()
	for _, name := range []string{p.Deps.Config.PlatformTable, p.Deps.Config.ServiceTable} {
		if _, err := p.Deps.DB.Client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
			t.Logf("delete table %s: %v", name, err)
		}
	}
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
