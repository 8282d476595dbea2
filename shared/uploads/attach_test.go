package uploads_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/apperr"
	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/local/s3server"
	"wxchannel/shared/uploads"
)

const bucket = "photos"

// start runs the in-process S3 server with the bucket, accepting the
// credentials the bucket's client signs with, and stores keys in it.
func start(t *testing.T, keys ...string) (*s3server.Server, *uploads.Attacher) {
	t.Helper()
	awsCfg, err := awsconf.FromEnv("", true)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := awsCfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3server.Start(s3server.Options{Buckets: []string{bucket}, Keys: map[string]string{creds.AccessKeyID: creds.SecretAccessKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b, err := uploads.NewBucket(config.Config{Region: "cn-north-1", UploadBucket: bucket, S3Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle, o.Region = aws.String(srv.URL), true, "cn-north-1"
	})
	for _, key := range keys {
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: strings.NewReader("photo"), Tagging: aws.String("attached=false")})
		if err != nil {
			t.Fatal(err)
		}
	}
	return srv, uploads.NewAttacher(b)
}

func TestAttachTagsEveryPhotoAttached(t *testing.T) {
	keys := []string{"uploads/t/u/1.jpg", "uploads/t/u/2.jpg", "uploads/t/u/3.jpg"}
	srv, attacher := start(t, keys...)
	for range 2 { // tagging again is harmless
		if err := attacher.Attach(context.Background(), keys); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range keys {
		if tags := srv.Tags(bucket, key); len(tags) != 1 || tags[uploads.TagAttached] != "true" {
			t.Fatalf("tags of %s: %v", key, tags)
		}
	}
}

func TestAttachFailuresAreClassified(t *testing.T) {
	stored := []string{"uploads/t/u/1.jpg", "uploads/t/u/2.jpg"}
	srv, attacher := start(t, stored...)
	ctx := context.Background()
	err := attacher.Attach(ctx, append(stored, "uploads/t/u/never.jpg"))
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid || e.Code != "photo_not_uploaded" {
		t.Fatalf("a photo never uploaded: %v", err)
	}
	srv.InjectError("PutObjectTagging", "InternalError", 100)
	if err := attacher.Attach(ctx, stored); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("S3 failing: %v", err)
	}
	if err := attacher.Attach(ctx, make([]string, uploads.MaxFiles+1)); err == nil {
		t.Fatal("attached more photos than an upload request signs")
	}
	if err := uploads.NewAttacher(mustBucket(t, "")).Attach(ctx, stored); err == nil {
		t.Fatal("attached without a bucket")
	}
}

func mustBucket(t *testing.T, name string) *uploads.Bucket {
	t.Helper()
	b, err := uploads.NewBucket(config.Config{Region: "cn-north-1", UploadBucket: name, S3Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
