package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"wxchannel/shared/apperr"
)

// VerifyTimeout bounds the checks of one request's photos, SDK retries
// included.
const VerifyTimeout = 5 * time.Second

// verifyConcurrency is how many photos are read at once.
const verifyConcurrency = MaxFiles

// sniffRange is the start of a photo Verify reads: enough for the PNG
// signature (8 bytes) and JPEG's SOI marker (3).
const sniffRange = "bytes=0-7"

// signatures are the first bytes of each image type.
var signatures = map[string][]byte{
	typeJPEG: {0xFF, 0xD8, 0xFF},
	typePNG:  {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
}

// Verify checks that every key holds a photo before an order or a visit
// takes it: the object exists, its Content-Type is image/jpeg or image/png
// and the one of its key's extension, its first bytes are that type's
// signature, and it has at most MaxBytes. One ranged GetObject per key
// (the first 8 bytes, with the type and the total size in the headers),
// at most verifyConcurrency at once, within VerifyTimeout. The form's
// policy already fixed the declared type and the size; reading the first
// bytes catches a file that is not the image it claims to be.
//
// A refusal is Rejected (photo_not_uploaded, photo_not_an_image) or
// TooLarge (photo_too_large), naming the key in details.key, and wins over
// S3 failing for another key; S3 failing is Unavailable
// (photo_storage_unavailable).
func (b *Bucket) Verify(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := b.configured(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, VerifyTimeout)
	defer cancel()
	errs := make([]error, len(keys))
	limit := make(chan struct{}, verifyConcurrency)
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			if errs[i] = b.verify(ctx, key); errs[i] != nil {
				cancel() // the request fails anyway: stop the others
			}
		})
	}
	wg.Wait()
	return verifyError(errs)
}

// verify checks one key; a refusal is an *apperr.Error, S3's failure any
// other error.
func (b *Bucket) verify(ctx context.Context, key string) error {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key),
		Range: aws.String(sniffRange)})
	switch {
	case notUploaded(err):
		return photoRefused(apperr.Rejected, "photo_not_uploaded", msgNotUploaded, key).Wrap(err)
	case errorCode(err) == "InvalidRange": // an empty object
		return photoRefused(apperr.Rejected, "photo_not_an_image", msgNotAnImage, key).Wrap(err)
	case err != nil:
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer out.Body.Close()
	head, err := io.ReadAll(io.LimitReader(out.Body, int64(len(signatures[typePNG]))))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	contentType := aws.ToString(out.ContentType)
	switch {
	case objectSize(out) > MaxBytes:
		return photoRefused(apperr.TooLarge, "photo_too_large", fmt.Sprintf("a photo is larger than %d bytes", MaxBytes), key)
	case contentType != typeOfKey(key) || !bytes.HasPrefix(head, signatures[contentType]):
		return photoRefused(apperr.Rejected, "photo_not_an_image", msgNotAnImage, key)
	}
	return nil
}

// Messages of the refusals.
const (
	msgNotUploaded = "a photo was not uploaded, or its upload expired; upload it again"
	msgNotAnImage  = "a photo is not a JPEG or PNG image"
)

func photoRefused(kind apperr.Kind, code, message, key string) *apperr.Error {
	return apperr.E(kind, code, message).WithDetails(map[string]string{"key": key})
}

// typeOfKey is the Content-Type a key's extension stands for.
func typeOfKey(key string) string {
	switch path.Ext(key) {
	case ".jpg", ".jpeg":
		return typeJPEG
	case ".png":
		return typePNG
	}
	return ""
}

// objectSize is the whole object's size: the total of Content-Range
// ("bytes 0-7/12345"), or the length of an answer that ignored the range.
func objectSize(out *s3.GetObjectOutput) int64 {
	if r := aws.ToString(out.ContentRange); r != "" {
		if _, total, ok := strings.Cut(r, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				return n
			}
		}
	}
	return aws.ToInt64(out.ContentLength)
}

// verifyError classifies the failures of one Verify: the first refusal in
// the keys' order, else the dependency is unavailable.
func verifyError(errs []error) error {
	for _, err := range errs {
		if e, ok := apperr.As(err); ok {
			return e
		}
	}
	if err := errors.Join(errs...); err != nil {
		return apperr.E(apperr.Unavailable, "photo_storage_unavailable", "photo storage is unavailable; retry shortly").Wrap(err)
	}
	return nil
}

// errorCode is S3's error code of err ("" for none).
func errorCode(err error) string {
	if api, ok := errors.AsType[smithy.APIError](err); ok {
		return api.ErrorCode()
	}
	return ""
}
