package stack

import (
	"context"

	"wxchannel/shared/awsconf"
	"wxchannel/shared/local/s3server"
)

// UploadBucket is the photo bucket of the in-process S3 server.
const UploadBucket = "wxchannel-uploads"

// startS3 runs the in-process S3 server on loopback with the bucket, so
// photo uploads work without AWS. It accepts the signatures of the
// credentials the functions sign with against a local endpoint (the
// environment's, else awsconf's local ones), as S3 accepts the role's.
func startS3(bucket string) (*s3server.Server, error) {
	cfg, err := awsconf.FromEnv("", true)
	if err != nil {
		return nil, err
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		return nil, err
	}
	return s3server.Start(s3server.Options{Buckets: []string{bucket}, Keys: map[string]string{creds.AccessKeyID: creds.SecretAccessKey}})
}
