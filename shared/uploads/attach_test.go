package uploads_test

import (
	"context"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/uploads"
)

func TestAttachTagsEveryPhotoAttached(t *testing.T) {
	w := setup(t)
	keys := []string{"uploads/t/u/1.jpg", "uploads/t/u/2.jpg", "uploads/t/u/3.jpg"}
	for _, key := range keys {
		w.put(key, "image/jpeg", jpegPhoto)
	}
	attacher := uploads.NewAttacher(w.bucket)
	for range 2 { // tagging again is harmless
		if err := attacher.Attach(context.Background(), keys); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range keys {
		if tags := w.srv.Tags(bucket, key); len(tags) != 1 || tags[uploads.TagAttached] != "true" {
			t.Fatalf("tags of %s: %v", key, tags)
		}
	}
}

func TestAttachFailuresAreClassified(t *testing.T) {
	w := setup(t)
	stored := []string{"uploads/t/u/1.jpg", "uploads/t/u/2.jpg"}
	for _, key := range stored {
		w.put(key, "image/jpeg", jpegPhoto)
	}
	attacher := uploads.NewAttacher(w.bucket)
	ctx := context.Background()
	_ = mustRefuse(t, attacher.Attach(ctx, append(stored, "uploads/t/u/never.jpg")), apperr.Rejected, "photo_not_uploaded")
	w.srv.InjectError("PutObjectTagging", "InternalError", 100)
	if err := attacher.Attach(ctx, stored); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("S3 failing: %v", err)
	}
	if err := attacher.Attach(ctx, make([]string, uploads.MaxAttach+1)); err == nil {
		t.Fatal("attached more photos than a visit holds")
	}
	if err := uploads.NewAttacher(unconfigured(t)).Attach(ctx, stored); err == nil {
		t.Fatal("attached without a bucket")
	}
}

// unconfigured is a bucket built without a name.
func unconfigured(t *testing.T) *uploads.Bucket {
	t.Helper()
	b, err := uploads.NewBucket(config.Config{Region: "cn-north-1", S3Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
