package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/wechat"
)

// A rejection's screenshots are WeChat media ids the admin's console
// cannot show. The first view fetches each from WeChat (get_material) and
// keeps it in the upload bucket under screenshotPrefix, named by the
// media id's hash, so every later view is served from the bucket with a
// short-lived link and WeChat is asked once per screenshot.

// screenshotPrefix is the upload bucket's folder of audit screenshots
// (audit-screenshots/<appid>/<sha256 of the media id>): apart from the
// users' uploads/, and untagged, so the lifecycle rule of unattached
// uploads never removes them.
const screenshotPrefix = "audit-screenshots/"

// Limits of the screenshots.
const (
	// MaxScreenshotBytes bounds one screenshot: a phone's screenshot is a
	// few hundred KiB; anything larger is not one.
	MaxScreenshotBytes = 5 << 20
	// ScreenshotViewExpiry is how long a screenshot link works.
	ScreenshotViewExpiry = 5 * time.Minute
	// maxScreenshots bounds how many of a rejection's media ids are
	// fetched (the pipeline keeps at most 10).
	maxScreenshots = 10
)

// screenshotTypes are the image types a screenshot may have, by their
// first bytes: WeChat's Content-Type is not trusted.
var screenshotTypes = []struct {
	contentType string
	signature   []byte
}{
	{"image/jpeg", []byte{0xFF, 0xD8, 0xFF}},
	{"image/png", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}},
}

// sniffImage is data's image type ("" when it is not a JPEG or a PNG).
func sniffImage(data []byte) string {
	for _, t := range screenshotTypes {
		if bytes.HasPrefix(data, t.signature) {
			return t.contentType
		}
	}
	return ""
}

// ScreenshotStore keeps audit screenshots in the upload bucket. Building
// it makes no network call.
type ScreenshotStore struct {
	bucket  string
	client  *s3.Client
	presign *s3.PresignClient
}

// NewScreenshotStore returns the store in cfg's upload bucket.
func NewScreenshotStore(cfg config.Config) (*ScreenshotStore, error) {
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
	return &ScreenshotStore{bucket: cfg.UploadBucket, client: client, presign: s3.NewPresignClient(client)}, nil
}

// screenshotKey is where a screenshot of appid is kept: the media id is
// WeChat's and may hold any character, its hash only safe ones.
func screenshotKey(appid, mediaID string) string {
	sum := sha256.Sum256([]byte(mediaID))
	return screenshotPrefix + appid + "/" + hex.EncodeToString(sum[:20])
}

// stored is a kept screenshot's type and size (found false when not kept).
func (st *ScreenshotStore) stored(ctx context.Context, key string) (contentType string, size int64, found bool, err error) {
	out, err := st.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.bucket), Key: aws.String(key)})
	if err != nil {
		var notFound *types.NotFound
		var api smithy.APIError
		if errors.As(err, &notFound) || (errors.As(err, &api) && api.ErrorCode() == "NoSuchKey") {
			return "", 0, false, nil
		}
		return "", 0, false, fmt.Errorf("head %s: %w", key, err)
	}
	return aws.ToString(out.ContentType), aws.ToInt64(out.ContentLength), true, nil
}

func (st *ScreenshotStore) put(ctx context.Context, key, contentType string, data []byte) error {
	_, err := st.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// viewURL presigns a GetObject of key for ScreenshotViewExpiry (no
// network call).
func (st *ScreenshotStore) viewURL(ctx context.Context, key string) (string, error) {
	signed, err := st.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ScreenshotViewExpiry))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return signed.URL, nil
}

// linkExpiry is when a presigned link dies: its X-Amz-Date (links are
// signed on the wall clock, as S3 checks them) plus the expiry.
func linkExpiry(presigned string) time.Time {
	u, err := url.Parse(presigned)
	if err != nil {
		return time.Time{}
	}
	at, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		return time.Time{}
	}
	return at.Add(ScreenshotViewExpiry)
}

// Screenshot is one screenshot of a rejection: a link to view it, or why
// it cannot be shown.
type Screenshot struct {
	N           int       `json:"n"`
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size,omitempty"`
	URL         string    `json:"url,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	Problem     *Problem  `json:"problem,omitempty"`
}

// AuditScreenshots is the evidence of the tenant's last rejection.
type AuditScreenshots struct {
	State       State        `json:"state"`
	AuditID     int64        `json:"audit_id,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	Screenshots []Screenshot `json:"screenshots"`
}

// Problems of one screenshot.
var (
	screenshotGone = Problem{Code: "screenshot_unavailable", Message: "WeChat no longer serves this screenshot.",
		Solution: "Read the rejection reason; the screenshot only illustrates it."}
	screenshotTooLarge = Problem{Code: "screenshot_too_large",
		Message:  fmt.Sprintf("WeChat sent more than %d bytes for this screenshot.", MaxScreenshotBytes),
		Solution: "Read the rejection reason, or view the screenshot on mp.weixin.qq.com."}
	screenshotNotImage = Problem{Code: "screenshot_not_an_image", Message: "WeChat sent something other than a JPEG or PNG image.",
		Solution: "Read the rejection reason, or view the screenshot on mp.weixin.qq.com."}
	screenshotStorage = Problem{Code: "screenshot_storage_unavailable", Message: "The screenshot could not be stored or read just now.",
		Solution: "Reload in a moment."}
	screenshotFetch = Problem{Code: "screenshot_fetch_failed", Message: "WeChat did not send the screenshot just now.",
		Solution: "Reload in a moment."}
)

// AuditScreenshots returns the last rejection's screenshots as links to
// copies in store, fetching from WeChat only those not kept yet (at once,
// within the request). One screenshot that cannot be shown carries its
// problem; the others are still shown.
func (s *Service) AuditScreenshots(ctx context.Context, tenantID string, store *ScreenshotStore) (AuditScreenshots, error) {
	if store.bucket == "" {
		return AuditScreenshots{}, &config.MissingError{Names: []string{config.EnvUploadBucket}}
	}
	p, err := s.boundPipeline(ctx, tenantID)
	if err != nil {
		return AuditScreenshots{}, err
	}
	out := AuditScreenshots{State: p.State, AuditID: p.AuditID, Reason: p.AuditReason, Screenshots: []Screenshot{}}
	ids := p.Screenshots[:min(len(p.Screenshots), maxScreenshots)]
	shots := make([]Screenshot, len(ids))
	var wg sync.WaitGroup
	for i, mediaID := range ids {
		wg.Go(func() { shots[i] = s.screenshot(ctx, store, p.AppID, i+1, mediaID) })
	}
	wg.Wait()
	out.Screenshots = append(out.Screenshots, shots...)
	return out, nil
}

// screenshot keeps one screenshot (if not kept yet) and links to it.
func (s *Service) screenshot(ctx context.Context, store *ScreenshotStore, appid string, n int, mediaID string) Screenshot {
	shot := Screenshot{N: n}
	key := screenshotKey(appid, mediaID)
	contentType, size, found, err := store.stored(ctx, key)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "audit screenshot storage", "appid", appid, "n", n, "err", err.Error())
		shot.Problem = new(screenshotStorage)
		return shot
	}
	if !found {
		var pr *Problem
		if contentType, size, pr = s.keepScreenshot(ctx, store, appid, key, mediaID); pr != nil {
			shot.Problem = pr
			return shot
		}
	}
	u, err := store.viewURL(ctx, key)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "audit screenshot link", "appid", appid, "n", n, "err", err.Error())
		shot.Problem = new(screenshotStorage)
		return shot
	}
	shot.ContentType, shot.Size, shot.URL, shot.ExpiresAt = contentType, size, u, linkExpiry(u)
	return shot
}

// keepScreenshot fetches a screenshot from WeChat, checks it is an image
// of at most MaxScreenshotBytes, and stores it under key.
func (s *Service) keepScreenshot(ctx context.Context, store *ScreenshotStore, appid, key, mediaID string) (string, int64, *Problem) {
	_, data, err := s.wx.Material(ctx, s.tokens.AuthorizerTokenSource(appid), mediaID)
	switch {
	case wechat.IsCode(err, wechat.CodeInvalidMediaID):
		return "", 0, new(screenshotGone)
	case err != nil:
		s.cfg.Log.WarnContext(ctx, "audit screenshot fetch", "appid", appid, "err", err.Error())
		return "", 0, new(screenshotFetch)
	case len(data) > MaxScreenshotBytes:
		return "", 0, new(screenshotTooLarge)
	}
	contentType := sniffImage(data)
	if contentType == "" {
		return "", 0, new(screenshotNotImage)
	}
	if err := store.put(ctx, key, contentType, data); err != nil {
		s.cfg.Log.WarnContext(ctx, "audit screenshot storage", "appid", appid, "err", err.Error())
		return "", 0, new(screenshotStorage)
	}
	return contentType, int64(len(data)), nil
}
