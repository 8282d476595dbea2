// Package uploads keeps work-order photos in the upload bucket: the mini
// program posts each photo straight to S3 with a signed form
// (wx.uploadFile), a work order or an engineer's visit only stores the
// object keys once they are verified, and the people allowed to see an
// order get short-lived links.
// Every upload is tagged unattached from the start and re-tagged attached
// when an order takes it, so the bucket's lifecycle rule removes the
// photos no order ever took.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/apperr"
	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
)

// Limits of one upload request.
const (
	MaxFiles  = 9
	MaxBytes  = 10 << 20
	URLExpiry = 15 * time.Minute
)

// TagAttached is the tag of every upload. The upload bucket's lifecycle
// rule (template.yaml) expires objects tagged attached=false 7 days after
// their upload; an upload form only succeeds with the tag, and Attacher
// sets it to true.
const TagAttached = "attached"

// The image types a photo may have.
const (
	typeJPEG = "image/jpeg"
	typePNG  = "image/png"
)

// extensions are the image types a photo may have, with the extension of
// its key.
var extensions = map[string]string{typeJPEG: "jpg", typePNG: "png"}

// Bucket is the upload bucket with its S3 client. Building it makes no
// network call; a function builds one and shares it between its form
// signer, its verifier and its attacher.
type Bucket struct {
	name    string
	region  string
	url     string // where forms are posted: BucketURL
	client  *s3.Client
	presign *s3.PresignClient
	creds   aws.CredentialsProvider
}

// NewBucket builds the configured upload bucket's client without any
// network call.
func NewBucket(cfg config.Config) (*Bucket, error) {
	awsCfg, err := awsconf.FromEnv(cfg.Region, cfg.S3Endpoint != "")
	if err != nil && cfg.UploadBucket != "" {
		return nil, err
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			o.UsePathStyle = true
		}
	})
	b := &Bucket{name: cfg.UploadBucket, region: cfg.Region, client: client, presign: s3.NewPresignClient(client),
		creds: awsCfg.Credentials}
	if cfg.UploadBucket != "" {
		u, err := BucketURL(cfg)
		if err != nil {
			return nil, err
		}
		b.url = u.String()
	}
	return b, nil
}

// BucketURL is the upload bucket's URL as the SDK resolves it, the one
// photos are posted to and viewed from: https://<bucket>.s3.<region>.<the
// region's partition domain> (amazonaws.com, amazonaws.com.cn...), or
// <S3Endpoint>/<bucket> (path-style) when an endpoint override is set.
func BucketURL(cfg config.Config) (*url.URL, error) {
	params := s3.EndpointParameters{Bucket: aws.String(cfg.UploadBucket), Region: aws.String(cfg.Region)}
	if cfg.S3Endpoint != "" {
		params.Endpoint, params.ForcePathStyle = aws.String(cfg.S3Endpoint), aws.Bool(true)
	}
	endpoint, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), params)
	if err != nil {
		return nil, fmt.Errorf("resolve the upload bucket's endpoint: %w", err)
	}
	return &endpoint.URI, nil
}

// UploadDomain is the uploadFile legal domain the mini programs need for
// the bucket: BucketURL's scheme and host.
func UploadDomain(cfg config.Config) (string, error) {
	u, err := BucketURL(cfg)
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}

// configured refuses to work without a bucket name.
func (b *Bucket) configured() error {
	if b.name == "" {
		return &config.MissingError{Names: []string{config.EnvUploadBucket}}
	}
	return nil
}

// Request asks for upload forms: one per entry of ContentTypes, or Count
// of ContentType.
type Request struct {
	ContentType  string   `json:"content_type,omitempty"`
	Count        int      `json:"count,omitempty"`
	ContentTypes []string `json:"content_types,omitempty"`
}

// contentTypes lists the type of each requested file.
func (r Request) contentTypes() ([]string, error) {
	if len(r.ContentTypes) == 0 {
		if _, ok := extensions[r.ContentType]; !ok {
			return nil, apperr.InvalidField("content_type", "image/jpeg or image/png")
		}
		if r.Count < 1 || r.Count > MaxFiles {
			return nil, apperr.InvalidField("count", fmt.Sprintf("between 1 and %d", MaxFiles))
		}
		types := make([]string, r.Count)
		for i := range types {
			types[i] = r.ContentType
		}
		return types, nil
	}
	if r.ContentType != "" || r.Count != 0 {
		return nil, apperr.InvalidField("content_types", "give content_types, or content_type and count, not both")
	}
	if len(r.ContentTypes) > MaxFiles {
		return nil, apperr.InvalidField("content_types", fmt.Sprintf("at most %d", MaxFiles))
	}
	for i, t := range r.ContentTypes {
		if _, ok := extensions[t]; !ok {
			return nil, apperr.InvalidField(fmt.Sprintf("content_types[%d]", i), "image/jpeg or image/png")
		}
	}
	return r.ContentTypes, nil
}

// randomName is the random part of a new key (24 hex digits).
func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
