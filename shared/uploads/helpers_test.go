package uploads_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/apperr"
	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/s3server"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/uploads"
)

const bucket = "photos"

// Photos as files: the first bytes of each type, then filler.
var (
	jpegPhoto = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "jpeg photo"...)
	pngPhoto  = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, "png photo"...)
)

// world is one test's upload bucket: the in-process S3 server, the bucket
// as a function builds it, an administrator's client of the server, and
// the test environment whose DynamoDB keeps the upload slots.
// Its clock is frozen at the start and moved by advance: the server checks
// expirations against it, the form signer and the slots sign and count
// with it. (The SDK presigns GETs with the wall clock, which runs on.)
type world struct {
	t      *testing.T
	srv    *s3server.Server
	bucket *uploads.Bucket
	admin  *s3.Client
	start  time.Time
	offset atomic.Int64
	env    *testenv.Env
}

// setup starts the S3 server accepting the credentials the bucket signs
// with (the environment's, else awsconf's local ones).
func setup(t *testing.T) *world {
	t.Helper()
	awsCfg, err := awsconf.FromEnv("cn-north-1", true)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := awsCfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, start: time.Now().UTC(), env: testenv.New(t)}
	w.srv, err = s3server.Start(s3server.Options{Buckets: []string{bucket}, Keys: map[string]string{creds.AccessKeyID: creds.SecretAccessKey},
		Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.srv.Close() })
	if w.bucket, err = uploads.NewBucket(w.config()); err != nil {
		t.Fatal(err)
	}
	w.admin = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle, o.RetryMaxAttempts = aws.String(w.srv.URL), true, 1
	})
	return w
}

func (w *world) config() config.Config {
	return config.Config{Region: "cn-north-1", UploadBucket: bucket, S3Endpoint: w.srv.URL}
}

func (w *world) now() time.Time          { return w.start.Add(time.Duration(w.offset.Load())) }
func (w *world) advance(d time.Duration) { w.offset.Add(int64(d)) }

// signer is the bucket's form signer, counting slots in DynamoDB.
func (w *world) signer() *uploads.FormSigner {
	return uploads.NewFormSigner(w.bucket, uploads.NewSlots(w.env.DB, w.now), w.now)
}

// sign signs forms for the owner, failing t on an error.
func (w *world) sign(t *testing.T, owner uploads.Owner, contentTypes ...string) []uploads.FormUpload {
	t.Helper()
	ups, err := w.signer().Sign(context.Background(), owner, uploads.Request{ContentTypes: contentTypes})
	if err != nil {
		t.Fatal(err)
	}
	return ups
}

// put stores an object as an administrator would, bypassing the forms.
func (w *world) put(key, contentType string, body []byte) {
	w.t.Helper()
	_, err := w.admin.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		ContentType: aws.String(contentType), Body: bytes.NewReader(body)})
	if err != nil {
		w.t.Fatal(err)
	}
}

// stored reports whether the bucket holds key.
func (w *world) stored(key string) bool {
	_, err := w.srv.Backend.HeadObject(bucket, key)
	return err == nil
}

// upload posts file with the form's fields as wx.uploadFile does (the
// fields in order, then the file part named up.Name) and returns S3's
// status and body.
func upload(t *testing.T, up uploads.FormUpload, form uploads.Form, file []byte) (int, string) {
	t.Helper()
	fields := make([]apiclient.Field, len(form))
	for i, f := range form {
		fields[i] = apiclient.Field(f)
	}
	status, body, err := apiclient.UploadFile(context.Background(), nil, apiclient.Upload{URL: up.URL, Name: up.Name}, fields, file)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// mustRefuse fails t unless err is an *apperr.Error of kind and code.
func mustRefuse(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || e.Code != code {
		t.Fatalf("got %v, want %s %s", err, kind, code)
	}
	return e
}
