package uploads

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ViewExpiry is how long a photo link works: long enough to show an
// order's detail, short enough that a forwarded link soon dies.
const ViewExpiry = 5 * time.Minute

// View is a photo with a link to it: a presigned GetObject the mini
// program shows in an <image> (whose src needs no legal domain) or fetches
// with wx.downloadFile (which needs the bucket as a downloadFile domain).
type View struct {
	Key       string    `json:"key"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ViewURLs presigns a GetObject of each key for expiry (ViewExpiry
// usually), in the keys' order, without any network call. Whether the
// caller may see the photos is the caller's decision (the order's owner,
// its engineer, the tenant's admins). A link signed with a role's
// temporary credentials dies with them, possibly before expiry.
func (b *Bucket) ViewURLs(ctx context.Context, keys []string, expiry time.Duration) ([]View, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if err := b.configured(); err != nil {
		return nil, err
	}
	views := make([]View, 0, len(keys))
	for _, key := range keys {
		signed, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)},
			s3.WithPresignExpires(expiry))
		if err != nil {
			return nil, fmt.Errorf("presign a view of %s: %w", key, err)
		}
		views = append(views, View{Key: key, URL: signed.URL, ExpiresAt: signedAt(signed.URL).Add(expiry)})
	}
	return views, nil
}

// signedAt is a presigned URL's X-Amz-Date (the zero time if unreadable).
func signedAt(presigned string) time.Time {
	u, err := url.Parse(presigned)
	if err != nil {
		return time.Time{}
	}
	at, _ := time.Parse(amzDateFormat, u.Query().Get("X-Amz-Date"))
	return at
}
