package testenv

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// UploadBucket is the photo bucket of the in-process S3 server.
const UploadBucket = "wxchannel-uploads"

// StartS3 starts an in-process S3-compatible server (gofakes3, in memory)
// with the upload bucket, for presigned uploads without AWS.
func StartS3(t testing.TB) (url string, backend *s3mem.Backend) {
	t.Helper()
	backend = s3mem.New()
	if err := backend.CreateBucket(UploadBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL, backend
}
