// Package uploads hands terminal users presigned S3 URLs for work-order
// photos: the mini program uploads straight to the bucket, and the work
// order only stores the object keys.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/portal"
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

// Presigner signs upload URLs for one bucket.
type Presigner struct {
	d      *app.Deps
	bucket string
	client *s3.PresignClient
}

// NewPresigner builds the presigner without any network call.
func NewPresigner(d *app.Deps) (*Presigner, error) {
	cfg, err := awsconf.FromEnv(d.Config.Region, d.Config.S3Endpoint != "")
	if err != nil && d.Config.UploadBucket != "" {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if d.Config.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(d.Config.S3Endpoint)
			o.UsePathStyle = true
		}
	})
	return &Presigner{d: d, bucket: d.Config.UploadBucket, client: s3.NewPresignClient(client)}, nil
}

// Sign returns count presigned PUTs under the user's prefix.
func (p *Presigner) Sign(ctx context.Context, tenantID, userID, contentType string, count int) ([]Upload, error) {
	if err := p.d.Config.Require(config.EnvUploadBucket); err != nil {
		return nil, err
	}
	ext, ok := extensions[contentType]
	if !ok {
		return nil, apperr.InvalidField("content_type", "image/jpeg or image/png")
	}
	if count < 1 || count > MaxFiles {
		return nil, apperr.InvalidField("count", fmt.Sprintf("between 1 and %d", MaxFiles))
	}
	out := make([]Upload, 0, count)
	for i := 0; i < count; i++ {
		var b [12]byte
		_, _ = rand.Read(b[:])
		key := fmt.Sprintf("uploads/%s/%s/%s.%s", tenantID, userID, hex.EncodeToString(b[:]), ext)
		req, err := p.client.PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(p.bucket), Key: aws.String(key), ContentType: aws.String(contentType),
		}, s3.WithPresignExpires(URLExpiry))
		if err != nil {
			return nil, fmt.Errorf("presign: %w", err)
		}
		headers := map[string]string{}
		for k, v := range req.SignedHeader {
			if len(v) > 0 && k != "Host" {
				headers[k] = v[0]
			}
		}
		out = append(out, Upload{Key: key, URL: req.URL, Method: req.Method, Headers: headers, ExpiresAt: p.d.Now().Add(URLExpiry).UTC()})
	}
	return out, nil
}

// Handle is the POST /portal/uploads endpoint.
func (p *Presigner) Handle(sessions *portal.Sessions) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := sessions.Authenticate(r)
		if err != nil {
			return err
		}
		var req struct {
			ContentType string `json:"content_type"`
			Count       int    `json:"count"`
		}
		if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
			return err
		}
		ups, err := p.Sign(r.Context(), c.TenantID, c.UserID, req.ContentType, req.Count)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"uploads": ups, "max_bytes": MaxBytes})
		return nil
	}
}
