package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/awsconf"
)

// Errors callers branch on; the HTTP layer maps them to statuses.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is a failed conditional write: someone else changed the
	// item first (or it already exists).
	ErrConflict = errors.New("conflict")
)

// DB is the connection every function shares: the raw SDK client (for
// operations guregu/dynamo does not express) and the two tables.
type DB struct {
	Client   *dynamodb.Client
	Dynamo   *dynamo.DB
	Platform dynamo.Table
	Service  dynamo.Table
}

// Options locate the tables. Endpoint is empty in AWS and the embedded
// server's URL locally.
type Options struct {
	Region        string
	Endpoint      string
	PlatformTable string
	ServiceTable  string
	// MaxAttempts overrides the SDK's retry attempts (0 keeps its default).
	MaxAttempts int
}

// Open builds the client without any network call: credentials and region
// come from the environment (Lambda's role), or static dummies when an
// endpoint override points at a local server.
func Open(ctx context.Context, o Options) (*DB, error) {
	cfg, err := awsconf.FromEnv(o.Region, o.Endpoint != "")
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(opt *dynamodb.Options) {
		if o.Endpoint != "" {
			opt.BaseEndpoint = aws.String(o.Endpoint)
			// The embedded server sends no CRC32 header.
			opt.DisableValidateResponseChecksum = true
		}
		if o.MaxAttempts > 0 {
			opt.RetryMaxAttempts = o.MaxAttempts
		}
	})
	return NewDB(client, o.PlatformTable, o.ServiceTable), nil
}

// NewDB wraps an existing client.
func NewDB(client *dynamodb.Client, platformTable, serviceTable string) *DB {
	db := dynamo.NewFromIface(client)
	return &DB{Client: client, Dynamo: db, Platform: db.Table(platformTable), Service: db.Table(serviceTable)}
}

// TranslateErr maps guregu/dynamo's not-found and condition failures to the
// package's sentinel errors, wrapping the original.
func TranslateErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dynamo.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case dynamo.IsCondCheckFailed(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// ExpiresAt converts a time into the TTL attribute's epoch seconds.
func ExpiresAt(t time.Time) int64 { return t.Unix() }
