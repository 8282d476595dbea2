// Package app is the edge every function is built at: the dependencies a
// function factory picks its collaborators from, and the shape of a
// function (an HTTP route table or a scheduled job).
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/logging"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// Deps are the dependencies a function's handler is built from. Building
// them makes no network call and reads no secret, so cold starts stay
// short; function factories pass each collaborator the parts it uses and
// never the whole bag.
type Deps struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *storage.DB
	Secrets config.Secrets
	// Now is the clock; tests and the dev server may run simulated time.
	Now func() time.Time
	// WeChat is the WeChat API client; it reads the component secret on
	// the calls that need it.
	WeChat *wechat.Client
}

// New assembles the dependencies of one function instance from its parts.
// The deployed functions, the dev server and the tests all build them here.
func New(cfg config.Config, log *slog.Logger, db *storage.DB, secrets config.Secrets, now func() time.Time, httpClient *http.Client) *Deps {
	wx := wechat.New(wechat.Config{
		BaseURL: cfg.WeChatBaseURL, ComponentAppID: cfg.ComponentAppID, HTTPClient: httpClient, Logger: log,
		ComponentSecret: func(ctx context.Context) (string, error) {
			if err := cfg.Require(config.EnvComponentAppID); err != nil {
				return "", err
			}
			return secrets.Get(ctx, config.SecretComponentSecret)
		},
	})
	return &Deps{Config: cfg, Log: log, DB: db, Secrets: secrets, Now: now, WeChat: wx}
}

// HandlerFactory builds an HTTP function's route table. The shared wiring
// (lambdarun) adds the health route and the middleware.
type HandlerFactory func(ctx context.Context, d *Deps) (*httpapi.Router, error)

// Job is a scheduled function. Run returns a summary that is logged and
// returned to the scheduler.
type Job interface {
	Run(ctx context.Context) (any, error)
}

// JobFactory builds a scheduled function.
type JobFactory func(ctx context.Context, d *Deps) (Job, error)

// StreamHandler consumes a batch of a DynamoDB stream; BatchItemFailures
// names the first record to deliver again (with the records after it).
type StreamHandler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamFactory builds a stream consumer.
type StreamFactory func(ctx context.Context, d *Deps) (StreamHandler, error)

// QueueHandler consumes a batch of SQS messages; BatchItemFailures names
// the messages to keep in the queue, the rest are deleted.
type QueueHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// QueueFactory builds a queue consumer.
type QueueFactory func(ctx context.Context, d *Deps) (QueueHandler, error)

// FromEnv builds the dependencies of a deployed function from the process
// environment.
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, cfg.LogLevel)
	db, err := storage.Open(ctx, storage.Options{
		Region: cfg.Region, Endpoint: cfg.DynamoDBEndpoint,
		PlatformTable: cfg.PlatformTable, ServiceTable: cfg.ServiceTable,
	})
	if err != nil {
		return nil, err
	}
	var secrets config.Secrets = config.EnvSecrets{Getenv: os.Getenv}
	if len(cfg.SecretARNs) > 0 {
		secrets = secretsManager(cfg)
	} else if err := config.CheckSigningKeys(ctx, secrets); err != nil {
		// Read from the environment, the keys can be checked before serving.
		return nil, err
	}
	return New(cfg, log, db, secrets, time.Now, &http.Client{Timeout: 10 * time.Second}), nil
}

// secretsManager reads each bundle of secrets on first use (never at init)
// from Secrets Manager.
func secretsManager(cfg config.Config) config.Secrets {
	return &config.ManagedSecrets{ARNs: cfg.SecretARNs, Now: time.Now, Fetch: func(ctx context.Context, arn string) (string, error) {
		awsCfg, err := awsconf.FromEnv(cfg.Region, false)
		if err != nil {
			return "", fmt.Errorf("aws config: %w", err)
		}
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
		if err != nil {
			return "", fmt.Errorf("get secret value: %w", err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secret has no string value")
		}
		return *out.SecretString, nil
	}}
}
