// Package uploads hands terminal users presigned S3 URLs for work-order
// photos: the mini program uploads straight to the bucket, and the work
// order only stores the object keys.
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

var extensions = map[string]string{"image/jpeg": "jpg", "image/png": "png"}

// Upload is one presigned PUT.
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
	bucket string
	client *s3.PresignClient
	now    func() time.Time
}

// NewPresigner builds the presigner of the configured upload bucket
// without any network call.
func NewPresigner(cfg config.Config, now func() time.Time) (*Presigner, error) {
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
	return &Presigner{bucket: cfg.UploadBucket, client: s3.NewPresignClient(client), now: now}, nil
}

// Sign returns presigned PUTs under the user's prefix.
func (p *Presigner) Sign(ctx context.Context, tenantID, userID string, req Request) ([]Upload, error) {
	if p.bucket == "" {
		return nil, &config.MissingError{Names: []string{config.EnvUploadBucket}}
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
			Bucket: aws.String(p.bucket), Key: aws.String(key), ContentType: aws.String(req.ContentType),
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
