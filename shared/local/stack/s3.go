package stack

import (
	"net"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/local/loopback"
)

// UploadBucket is the photo bucket of the in-process S3 server.
const UploadBucket = "wxchannel-uploads"

// startS3 runs an in-memory S3-compatible server on loopback with the
// bucket, so photo uploads work without AWS.
func startS3(bucket string) (url string, backend *s3mem.Backend, stop func(), err error) {
	backend = s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	srv := loopback.Start(ln, gofakes3.New(backend).Server())
	return "http://" + ln.Addr().String(), backend, func() { _ = srv.Close() }, nil
}
