// Package uploads hands terminal users presigned S3 URLs for work-order
// photos: the mini program uploads straight to the bucket, and the work
// order only stores the object keys. Every upload is tagged unattached
// from the start and re-tagged attached when an order takes it, so the
// bucket's lifecycle rule removes the photos no order ever took.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// The attached tag. The upload bucket's lifecycle rule (template.yaml)
// expires objects tagged attached=false 7 days after their upload; a
// presigned PUT only succeeds with the tag, and Attacher sets it to true.
const (
	TagAttached = "attached"
	// taggingUnattached is the x-amz-tagging header of every upload (a
	// URL-encoded query string).
	taggingUnattached = TagAttached + "=false"
)

var extensions = map[string]string{"image/jpeg": "jpg", "image/png": "png"}

// Bucket is the upload bucket with its S3 client. Building it makes no
// network call; a function builds one and shares it between its presigner
// and its attacher.
type Bucket struct {
	name   string
	client *s3.Client
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
	return &Bucket{name: cfg.UploadBucket, client: client}, nil
}

// configured refuses to work without a bucket name.
func (b *Bucket) configured() error {
	if b.name == "" {
		return &config.MissingError{Names: []string{config.EnvUploadBucket}}
	}
	return nil
}

// Upload is one presigned PUT. The mini program sends every header of
// Headers with the PUT: they are part of the signature.
type Upload struct {
	Key       string            `json:"key"`
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// Request asks for count upload URLs of one image type.
type Request struct {
	ContentType string `json:"content_type"`
	Count       int    `json:"count"`
}

// Presigner signs upload URLs for one bucket.
type Presigner struct {
	bucket *Bucket
	client *s3.PresignClient
	now    func() time.Time
}

// NewPresigner returns the presigner of the bucket.
func NewPresigner(b *Bucket, now func() time.Time) *Presigner {
	return &Presigner{bucket: b, client: s3.NewPresignClient(b.client), now: now}
}

// Sign returns presigned PUTs under the user's prefix. The tag
// attached=false is signed into each: S3 refuses an upload without it.
func (p *Presigner) Sign(ctx context.Context, tenantID, userID string, req Request) ([]Upload, error) {
	if err := p.bucket.configured(); err != nil {
		return nil, err
	}
	ext, ok := extensions[req.ContentType]
	if !ok {
		return nil, apperr.InvalidField("content_type", "image/jpeg or image/png")
	}
	if req.Count < 1 || req.Count > MaxFiles {
		return nil, apperr.InvalidField("count", fmt.Sprintf("between 1 and %d", MaxFiles))
	}
	out := make([]Upload, 0, req.Count)
	for range req.Count {
		var b [12]byte
		_, _ = rand.Read(b[:])
		key := fmt.Sprintf("uploads/%s/%s/%s.%s", tenantID, userID, hex.EncodeToString(b[:]), ext)
		signed, err := p.client.PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(p.bucket.name), Key: aws.String(key), ContentType: aws.String(req.ContentType),
			Tagging: aws.String(taggingUnattached),
		}, s3.WithPresignExpires(URLExpiry))
		if err != nil {
			return nil, fmt.Errorf("presign: %w", err)
		}
		headers := map[string]string{}
		for k, v := range signed.SignedHeader {
			if len(v) > 0 && k != "Host" {
				headers[k] = v[0]
			}
		}
		out = append(out, Upload{Key: key, URL: signed.URL, Method: signed.Method, Headers: headers, ExpiresAt: p.now().Add(URLExpiry).UTC()})
	}
	return out, nil
}
