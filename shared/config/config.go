// Package config reads the deployment's configuration from the environment
// and resolves secrets from the environment (locally) or AWS Secrets Manager
// (deployed), so that every function is configured the same way.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Environment variable names. They are the configuration reference of the
// README and of template.yaml's Globals.
const (
	EnvStage            = "STAGE"
	EnvPlatformTable    = "PLATFORM_TABLE"
	EnvServiceTable     = "SERVICE_TABLE"
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
	EnvRegion           = "AWS_REGION"
	EnvComponentAppID   = "COMPONENT_APPID"
	EnvPublicAppID      = "PUBLIC_APPID"
	EnvWeChatBaseURL    = "WECHAT_API_BASE"
	EnvAPIBaseURL       = "API_BASE_URL"
	// EnvBrowserBaseURL is the base of our pages an admin's browser opens
	// (the authorization start link); default API_BASE_URL. Only a local
	// stack sets it: its public base is a name no browser resolves.
	EnvBrowserBaseURL = "BROWSER_BASE_URL"
	// EnvWeChatPagesBase replaces the scheme and host of WeChat's
	// authorization pages the start page links to (mp.weixin.qq.com,
	// open.weixin.qq.com); default WeChat's own. Local only: the
	// simulator's pages.
	EnvWeChatPagesBase = "WECHAT_PAGES_BASE"
	EnvLogLevel        = "LOG_LEVEL"
	EnvMaxBodyBytes    = "MAX_BODY_BYTES"
	EnvUploadBucket    = "UPLOAD_BUCKET"
	EnvS3Endpoint      = "S3_ENDPOINT"
	// EnvStaffTokenKeys holds the CRM's token-signing public keys (a JWKS
	// document or a PEM key); when set, staff tokens must be RS256/ES256.
	EnvStaffTokenKeys = "STAFF_TOKEN_PUBLIC_KEYS"
	// EnvEventsQueueURL is the FIFO queue carrying events to the tenants'
	// webhooks (docs/events.md); SQS_ENDPOINT overrides SQS's endpoint for
	// the local stand-in (local only).
	EnvEventsQueueURL = "EVENTS_QUEUE_URL"
	EnvSQSEndpoint    = "SQS_ENDPOINT"
	// EnvWebhookAllowPrivate lets webhooks reach loopback and private
	// addresses and plain http (local only: the dev server's receiver).
	EnvWebhookAllowPrivate = "WEBHOOK_ALLOW_PRIVATE"
)

// Token encryption (see docs/tokens.md). TOKEN_KMS_KEY_ID is the KMS key
// whose data keys seal the stored WeChat tokens (template.yaml's Globals);
// without it they are sealed with the TOKEN_ENCRYPTION_KEY secret.
// KMS_ENDPOINT overrides KMS's endpoint for a local stand-in (local only).
const (
	EnvTokenKMSKeyID = "TOKEN_KMS_KEY_ID"
	EnvKMSEndpoint   = "KMS_ENDPOINT"
)

// DefaultWeChatBaseURL is WeChat's API host.
const DefaultWeChatBaseURL = "https://api.weixin.qq.com"

// DefaultMaxBodyBytes bounds every JSON request body.
const DefaultMaxBodyBytes = 64 << 10

// Config is the non-secret configuration of a function. Secrets are not
// here: they are fetched through a SecretSource when first needed.
type Config struct {
	Stage            string
	PlatformTable    string
	ServiceTable     string
	DynamoDBEndpoint string // empty in AWS; the embedded server's URL locally
	Region           string
	ComponentAppID   string
	PublicAppID      string
	WeChatBaseURL    string
	APIBaseURL       string // public base URL of our HTTP API, for redirect URIs and ext_json
	// BrowserBaseURL is the base of our pages an admin's browser opens
	// (APIBaseURL unless set); WeChatPagesBase, when set, is where the
	// browser finds WeChat's authorization pages (local only).
	BrowserBaseURL, WeChatPagesBase string
	// SecretARNs are the Secrets Manager secrets this function may read, by
	// bundle name (see Bundles); none: secrets come from the environment.
	SecretARNs   map[string]string
	LogLevel     string
	MaxBodyBytes int64
	UploadBucket string
	S3Endpoint   string
	// StaffTokenKeys are the CRM's public keys for staff tokens ("" for the
	// shared HS256 key).
	StaffTokenKeys string
	// TokenKMSKeyID is the KMS key sealing stored WeChat tokens ("": the
	// local key secret); KMSEndpoint overrides KMS's endpoint (local only).
	TokenKMSKeyID, KMSEndpoint string
	// RequestTimeout bounds one request's work; API Gateway gives up at 30 s.
	RequestTimeout time.Duration
	// EventsQueueURL is the events queue; SQSEndpoint overrides SQS's
	// endpoint (local only).
	EventsQueueURL, SQSEndpoint string
	// WebhookAllowPrivate lets webhooks reach private addresses over
	// plain http (local only).
	WebhookAllowPrivate bool
}

// MissingError names every required variable that is not set.
type MissingError struct{ Names []string }

func (e *MissingError) Error() string {
	return "missing configuration: " + strings.Join(e.Names, ", ")
}

// FromEnv reads the configuration with getenv (os.Getenv in production, a map
// in tests). Table names are required by every function; the rest is checked
// by the parts that need it (see Require).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Stage:               def(getenv(EnvStage), "local"),
		PlatformTable:       getenv(EnvPlatformTable),
		ServiceTable:        getenv(EnvServiceTable),
		DynamoDBEndpoint:    getenv(EnvDynamoDBEndpoint),
		Region:              def(getenv(EnvRegion), "us-east-1"),
		ComponentAppID:      getenv(EnvComponentAppID),
		PublicAppID:         getenv(EnvPublicAppID),
		WeChatBaseURL:       def(getenv(EnvWeChatBaseURL), DefaultWeChatBaseURL),
		APIBaseURL:          strings.TrimRight(getenv(EnvAPIBaseURL), "/"),
		BrowserBaseURL:      strings.TrimRight(getenv(EnvBrowserBaseURL), "/"),
		WeChatPagesBase:     strings.TrimRight(getenv(EnvWeChatPagesBase), "/"),
		LogLevel:            def(getenv(EnvLogLevel), "info"),
		MaxBodyBytes:        DefaultMaxBodyBytes,
		UploadBucket:        getenv(EnvUploadBucket),
		S3Endpoint:          getenv(EnvS3Endpoint),
		StaffTokenKeys:      getenv(EnvStaffTokenKeys),
		TokenKMSKeyID:       getenv(EnvTokenKMSKeyID),
		KMSEndpoint:         getenv(EnvKMSEndpoint),
		RequestTimeout:      25 * time.Second,
		EventsQueueURL:      getenv(EnvEventsQueueURL),
		SQSEndpoint:         getenv(EnvSQSEndpoint),
		WebhookAllowPrivate: getenv(EnvWebhookAllowPrivate) == "1",
	}
	for _, b := range Bundles {
		if arn := getenv(b.ARNVar); arn != "" {
			if c.SecretARNs == nil {
				c.SecretARNs = map[string]string{}
			}
			c.SecretARNs[b.Name] = arn
		}
	}
	if v := getenv(EnvMaxBodyBytes); v != "" {
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 || n > 6<<20 {
			return Config{}, fmt.Errorf("%s must be a positive byte count up to 6 MiB, got %q", EnvMaxBodyBytes, v)
		}
		c.MaxBodyBytes = n
	}
	if err := c.Require(EnvPlatformTable, EnvServiceTable); err != nil {
		return Config{}, err
	}
	if c.BrowserBaseURL == "" {
		c.BrowserBaseURL = c.APIBaseURL
	}
	urls := map[string]string{EnvWeChatBaseURL: c.WeChatBaseURL, EnvDynamoDBEndpoint: c.DynamoDBEndpoint, EnvAPIBaseURL: c.APIBaseURL,
		EnvEventsQueueURL: c.EventsQueueURL, EnvSQSEndpoint: c.SQSEndpoint, EnvBrowserBaseURL: c.BrowserBaseURL,
		EnvWeChatPagesBase: c.WeChatPagesBase}
	for name, raw := range urls {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s must be an http(s) URL, got %q", name, raw)
		}
	}
	return c, nil
}

// Require reports every named variable that is empty in c.
func (c Config) Require(names ...string) error {
	values := map[string]string{
		EnvPlatformTable:  c.PlatformTable,
		EnvServiceTable:   c.ServiceTable,
		EnvComponentAppID: c.ComponentAppID,
		EnvPublicAppID:    c.PublicAppID,
		EnvAPIBaseURL:     c.APIBaseURL,
		EnvUploadBucket:   c.UploadBucket,
		EnvEventsQueueURL: c.EventsQueueURL,
	}
	var missing []string
	for _, n := range names {
		v, known := values[n]
		if !known {
			return fmt.Errorf("config.Require: unknown variable %s", n)
		}
		if v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Names: missing}
	}
	return nil
}

// IsMissing reports whether err is a configuration error naming missing values.
func IsMissing(err error) bool {
	var m *MissingError
	return errors.As(err, &m)
}

func def(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
