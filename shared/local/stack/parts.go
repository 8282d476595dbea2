package stack

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/kmsserver"
	"wxchannel/shared/local/s3server"
	"wxchannel/shared/local/sqsserver"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat/wechatsim"
)

// PartsOptions say what a local stack is made of. Vars holds the
// configuration and the secrets by their environment variable names;
// where an endpoint is empty, the local stand-in is started instead.
type PartsOptions struct {
	Vars map[string]string
	Now  func() time.Time
	Log  *slog.Logger
	// DynamoDBEndpoint uses another DynamoDB-protocol server instead of the
	// embedded one.
	DynamoDBEndpoint string
	// WeChatBase uses another WeChat API base URL instead of the simulator.
	WeChatBase string
	// UploadBucket and S3Endpoint use another S3 bucket instead of the
	// in-process server.
	UploadBucket, S3Endpoint string
	// ClientOptions are applied to the DynamoDB client (a call counter).
	ClientOptions []func(*dynamodb.Options)
	// HTTPTimeout bounds outbound calls (WeChat); default 10 s.
	HTTPTimeout time.Duration
	// SimulatedWeChatPages points the start page's links to WeChat's
	// authorization pages at the simulator's own page (WECHAT_PAGES_BASE),
	// for a person clicking through in an ordinary browser.
	SimulatedWeChatPages bool
	// KMS starts the KMS stand-in and seals the stored tokens with data
	// keys of a key it holds, as the functions do in AWS, instead of with
	// the local key.
	KMS bool
}

// Parts is the product's dependencies wired to their local stand-ins.
type Parts struct {
	Deps *app.Deps
	// Dynamo is the embedded DynamoDB server (nil with another endpoint).
	Dynamo *dynamoserver.Server
	// Sim is the WeChat simulator (nil with another WeChat base).
	Sim *wechatsim.Sim
	// S3 is the in-process S3 server's store (nil with another bucket).
	S3 *s3mem.Backend
	// S3Server is the in-process S3 server (nil with another bucket).
	S3Server *s3server.Server
	// KMS is the KMS stand-in (nil unless PartsOptions.KMS).
	KMS *kmsserver.Server
	// SQS is the SQS stand-in holding the events queue (EventsQueueURL)
	// and its dead-letter queue.
	SQS                                 *sqsserver.Server
	EventsQueueURL, EventsDeadLetterURL string
	// Vars is the configuration the dependencies were built from; change
	// it with SetVar while the stack runs.
	Vars   map[string]string
	varsMu sync.RWMutex

	closers []func()
}

// Assemble starts what o leaves to the local stand-ins, creates the tables
// and builds the dependencies every function is built from. The dev
// server, the tests, the walkthrough and the benchmarks all start here.
func Assemble(ctx context.Context, o PartsOptions) (p *Parts, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPTimeout == 0 {
		o.HTTPTimeout = 10 * time.Second
	}
	p = &Parts{Vars: maps.Clone(o.Vars)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := p.startDynamo(o.DynamoDBEndpoint); err != nil {
		return p, err
	}
	if err := p.startS3(o.UploadBucket, o.S3Endpoint); err != nil {
		return p, err
	}
	if err := p.startSim(o); err != nil {
		return p, err
	}
	if err := p.startSQS(ctx, o.Now); err != nil {
		return p, err
	}
	if err := p.tokenKeys(o.KMS); err != nil {
		return p, err
	}
	getenv := p.Var
	if err := config.CheckSigningKeys(ctx, config.EnvSecrets{Getenv: getenv}); err != nil {
		return p, err // refuse to start, as a deployed function would
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return p, err
	}
	db, err := storage.Open(ctx, storage.Options{Region: cfg.Region, Endpoint: cfg.DynamoDBEndpoint,
		PlatformTable: cfg.PlatformTable, ServiceTable: cfg.ServiceTable, ClientOptions: o.ClientOptions})
	if err != nil {
		return p, err
	}
	tables := map[string]string{"PlatformTable": cfg.PlatformTable, "ServiceTable": cfg.ServiceTable}
	if err := storage.CreateTables(ctx, db.Client, tables); err != nil {
		return p, err
	}
	if p.Dynamo != nil {
		// The service table's stream carries the outbox's events (template.yaml).
		if _, err := p.Dynamo.EnableStream(cfg.ServiceTable); err != nil {
			return p, err
		}
	}
	p.Deps = app.New(cfg, o.Log, db, config.EnvSecrets{Getenv: getenv}, o.Now, &http.Client{Timeout: o.HTTPTimeout})
	return p, nil
}

func (p *Parts) startDynamo(endpoint string) error {
	if endpoint == "" {
		dyn, err := dynamoserver.Start()
		if err != nil {
			return fmt.Errorf("start embedded DynamoDB: %w", err)
		}
		p.Dynamo = dyn
		p.closers = append(p.closers, func() { _ = dyn.Close() })
		endpoint = dyn.URL
	}
	p.Vars[config.EnvDynamoDBEndpoint] = endpoint
	return nil
}

func (p *Parts) startS3(bucket, endpoint string) error {
	if bucket == "" {
		srv, err := startS3(UploadBucket)
		if err != nil {
			return fmt.Errorf("start in-process S3: %w", err)
		}
		p.S3, p.S3Server = srv.Backend, srv
		p.closers = append(p.closers, func() { _ = srv.Close() })
		bucket, endpoint = UploadBucket, srv.URL
	}
	p.Vars[config.EnvUploadBucket], p.Vars[config.EnvS3Endpoint] = bucket, endpoint
	return nil
}

func (p *Parts) startSim(o PartsOptions) error {
	base := o.WeChatBase
	if base == "" {
		sim, err := wechatsim.Start(wechatsim.Options{
			ComponentAppID: p.Vars[config.EnvComponentAppID], ComponentSecret: p.Vars[config.SecretComponentSecret],
			Token: p.Vars[config.SecretComponentToken], EncodingAESKey: p.Vars[config.SecretEncodingAESKey],
			// The operator registers the API domain as the start-page domain.
			StartPageDomain: hostOf(p.Vars[config.EnvAPIBaseURL]),
			Now:             o.Now, Logger: o.Log.With("component", "wechatsim"),
		})
		if err != nil {
			return fmt.Errorf("start WeChat simulator: %w", err)
		}
		p.Sim = sim
		p.closers = append(p.closers, sim.Close)
		sim.AddPublicApp(p.Vars[config.EnvPublicAppID], p.Vars[config.SecretPublicAppSecret])
		base = sim.URL
		if o.SimulatedWeChatPages {
			p.Vars[config.EnvWeChatPagesBase] = sim.AuthPagesBase()
		}
	}
	p.Vars[config.EnvWeChatBaseURL] = base
	return nil
}

// hostOf is the host of a base URL ("" when it has none).
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// TokenKeyAlias names the stand-in's key of the stored tokens.
const TokenKeyAlias = "alias/wxchannel-tokens"

// devTokenEncryptionKey seals the stored tokens when the variables name no
// key: a development value (the base64 of 32 bytes), not a secret.
const devTokenEncryptionKey = "d3hjaGFubmVsIGRldiB0b2tlbiBrZXkgKDMyIGIpLiA="

// tokenKeys gives the stored tokens their keys: the local key unless the
// variables hold one, and with kms the KMS stand-in with a key of its own,
// which then seals new values (the local key still opens what it sealed).
func (p *Parts) tokenKeys(kms bool) error {
	if p.Vars[config.SecretTokenEncryptionKey] == "" {
		p.Vars[config.SecretTokenEncryptionKey] = devTokenEncryptionKey
	}
	if !kms {
		return nil
	}
	srv, err := kmsserver.Start()
	if err != nil {
		return fmt.Errorf("start the KMS stand-in: %w", err)
	}
	p.KMS = srv
	p.closers = append(p.closers, func() { _ = srv.Close() })
	arn, err := srv.CreateKey(TokenKeyAlias)
	if err != nil {
		return fmt.Errorf("create the tokens' KMS key: %w", err)
	}
	p.Vars[config.EnvTokenKMSKeyID], p.Vars[config.EnvKMSEndpoint] = arn, srv.URL
	return nil
}

// Close stops every stand-in Assemble started.
func (p *Parts) Close() {
	for _, stop := range slices.Backward(p.closers) {
		stop()
	}
	p.closers = nil
}

// Var reads one configuration variable or secret.
func (p *Parts) Var(name string) string {
	p.varsMu.RLock()
	defer p.varsMu.RUnlock()
	return p.Vars[name]
}

// SetVar changes a variable or secret of the running stack, as an operator
// changes a secret: the functions read it on their next use.
func (p *Parts) SetVar(name, value string) {
	p.varsMu.Lock()
	p.Vars[name] = value
	p.varsMu.Unlock()
}
