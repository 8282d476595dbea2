package uploads

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"wxchannel/shared/apperr"
)

// AttachTimeout bounds the tagging of one order's photos, SDK retries
// included, so that a slow S3 still leaves the request time to answer
// within API Gateway's 30 s (after Verify's VerifyTimeout).
const AttachTimeout = 8 * time.Second

// Attacher marks uploads as taken by a work order or a visit (tag
// attached=true), so the bucket's lifecycle rule keeps them.
type Attacher struct {
	bucket *Bucket
}

// NewAttacher returns the attacher of the bucket.
func NewAttacher(b *Bucket) *Attacher { return &Attacher{bucket: b} }

// MaxAttach is the most keys one Attach tags: a visit's photos before and
// after the work (MaxFiles each) and the customer's signature.
const MaxAttach = 2*MaxFiles + 1

// Attach tags every key attached=true: one PutObjectTagging per key (at
// most MaxAttach), MaxFiles at once, within AttachTimeout. Tagging is
// idempotent, so a retried request may attach the same keys again. A key
// with no object is Rejected (photo_not_uploaded); any other failure is
// Unavailable (retry shortly). Keys tagged before a failure stay tagged:
// that costs storage, never a photo.
func (a *Attacher) Attach(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := a.bucket.configured(); err != nil {
		return err
	}
	if len(keys) > MaxAttach {
		return fmt.Errorf("attach %d photos: at most %d", len(keys), MaxAttach)
	}
	ctx, cancel := context.WithTimeout(ctx, AttachTimeout)
	defer cancel()
	errs := make([]error, len(keys))
	limit := make(chan struct{}, MaxFiles)
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			if errs[i] = a.tag(ctx, key); errs[i] != nil {
				cancel() // the request fails anyway: stop the others
			}
		})
	}
	wg.Wait()
	return attachError(keys, errs)
}

func (a *Attacher) tag(ctx context.Context, key string) error {
	_, err := a.bucket.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(a.bucket.name), Key: aws.String(key),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(TagAttached), Value: aws.String("true")}}},
	})
	if err != nil {
		return fmt.Errorf("tag %s attached: %w", key, err)
	}
	return nil
}

// attachError classifies the failures of one Attach: a missing object
// first (retrying cannot help), else the dependency is unavailable.
func attachError(keys []string, errs []error) error {
	for i, err := range errs {
		if notUploaded(err) {
			return photoRefused(apperr.Rejected, "photo_not_uploaded", msgNotUploaded, keys[i]).Wrap(err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return apperr.E(apperr.Unavailable, "photo_storage_unavailable", "photo storage is unavailable; retry shortly").Wrap(err)
	}
	return nil
}

// notUploaded reports S3's answer for a key with no object (NotFound to a
// HEAD). Without s3:ListBucket on the bucket, S3 answers AccessDenied
// instead.
func notUploaded(err error) bool {
	code := errorCode(err)
	return code == "NoSuchKey" || code == "NotFound"
}
