// Package app wires configuration into the dependencies every function
// shares and defines the shape of a function: an HTTP handler factory or a
// scheduled job factory.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/logging"
	"wxchannel/shared/storage"
)

// Deps are the dependencies a function's handler is built from. Building
// them makes no network call, so cold starts stay short.
type Deps struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *storage.DB
	Secrets config.Secrets
	// Now is the clock; tests and the dev server may run simulated time.
	Now func() time.Time
	// HTTPClient is used for outbound calls (WeChat).
	HTTPClient *http.Client

	lazy lazyParts
}

// HandlerFactory builds an HTTP function's handler.
type HandlerFactory func(ctx context.Context, d *Deps) (http.Handler, error)

// Job is a scheduled function. Run returns a summary that is logged and
// returned to the scheduler.
type Job interface {
	Run(ctx context.Context) (any, error)
}

// JobFactory builds a scheduled function.
type JobFactory func(ctx context.Context, d *Deps) (Job, error)

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
	if cfg.SecretsARN != "" {
		secrets = secretsManager(ctx, cfg)
	}
	return &Deps{
		Config: cfg, Log: log, DB: db, Secrets: secrets, Now: time.Now,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}, nil
}

// secretsManager reads the JSON secret bundle on first use.
func secretsManager(ctx context.Context, cfg config.Config) config.Secrets {
	return &config.BundleSecrets{Fetch: func(ctx context.Context) (string, error) {
		awsCfg, err := awsconf.FromEnv(cfg.Region, false)
		if err != nil {
			return "", fmt.Errorf("aws config: %w", err)
		}
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &cfg.SecretsARN})
		if err != nil {
			return "", fmt.Errorf("get secret value: %w", err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secret has no string value")
		}
		return *out.SecretString, nil
	}}
}
