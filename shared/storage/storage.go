package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/awsconf"
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
	// MaxAttempts overrides the retry policy's attempts (retry.go); 0
	// keeps it.
	MaxAttempts int
	// ClientOptions are applied to the client after ours (a call counter,
	// test-only settings).
	ClientOptions []func(*dynamodb.Options)
}

// Open builds the client without any network call: credentials and region
// come from the environment (Lambda's role), or static dummies when an
// endpoint override points at a local server.
func Open(ctx context.Context, o Options) (*DB, error) {
	cfg, err := awsconf.FromEnv(o.Region, o.Endpoint != "")
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	opts := append([]func(*dynamodb.Options){func(opt *dynamodb.Options) {
		if o.Endpoint != "" {
			opt.BaseEndpoint = aws.String(o.Endpoint)
			// The embedded server sends no CRC32 header.
			opt.DisableValidateResponseChecksum = true
		}
		opt.Retryer = newRetryer(o.MaxAttempts)
		classifyErrors(opt)
	}}, o.ClientOptions...)
	client := dynamodb.NewFromConfig(cfg, opts...)
	return NewDB(client, o.PlatformTable, o.ServiceTable), nil
}

// NewDB wraps an existing client.
func NewDB(client *dynamodb.Client, platformTable, serviceTable string) *DB {
	db := dynamo.NewFromIface(client)
	return &DB{Client: client, Dynamo: db, Platform: db.Table(platformTable), Service: db.Table(serviceTable)}
}

// ExpiresAt converts a time into the TTL attribute's epoch seconds.
func ExpiresAt(t time.Time) int64 { return t.Unix() }
