package devstack

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const devUploadBucket = "wxchannel-uploads"

// startS3 runs an in-memory S3-compatible server on loopback with bucket,
// so presigned photo uploads work without AWS.
func startS3(bucket string) (string, func(), error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
