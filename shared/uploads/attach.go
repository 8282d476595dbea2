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
	"github.com/aws/smithy-go"

	"wxchannel/shared/apperr"
)

// AttachTimeout bounds the tagging of one order's photos, SDK retries
// included, so that a slow S3 still leaves the request time to answer
// within API Gateway's 30 s.
const AttachTimeout = 8 * time.Second

// Attacher marks uploads as taken by a work order (tag attached=true), so
// the bucket's lifecycle rule keeps them.
type Attacher struct {
	bucket *Bucket
}

// NewAttacher returns the attacher of the bucket.
func NewAttacher(b *Bucket) *Attacher { return &Attacher{bucket: b} }

// Attach tags every key attached=true: one PutObjectTagging per key, all
// at once (at most MaxFiles), within AttachTimeout. Tagging is idempotent,
// so a retried request may attach the same keys again. A key with no
// object is an Invalid error (photo_not_uploaded); any other failure is
// Unavailable (retry shortly). Keys tagged before a failure stay tagged:
// that costs storage, never a photo.
func (a *Attacher) Attach(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := a.bucket.configured(); err != nil {
		return err
	}
	if len(keys) > MaxFiles {
		return fmt.Errorf("attach %d photos: at most %d", len(keys), MaxFiles)
	}
	ctx, cancel := context.WithTimeout(ctx, AttachTimeout)
	defer cancel()
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			if errs[i] = a.tag(ctx, key); errs[i] != nil {
				cancel() // the order fails anyway: stop the others
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
			return apperr.E(apperr.Invalid, "photo_not_uploaded", "a photo was not uploaded, or its upload expired; upload it again").
				WithDetails(map[string]string{"key": keys[i]}).Wrap(err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return apperr.E(apperr.Unavailable, "photo_storage_unavailable", "photo storage is unavailable; retry shortly").Wrap(err)
	}
	return nil
}

// notUploaded reports S3's answer for a key with no object. (Without
// s3:ListBucket on the bucket, S3 answers AccessDenied instead.)
func notUploaded(err error) bool {
	api, ok := errors.AsType[smithy.APIError](err)
	return ok && api.ErrorCode() == "NoSuchKey"
}
