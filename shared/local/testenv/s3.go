package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/local/s3server"
)

// S3Server is the in-process S3 server of the upload bucket: inject its
// failures with InjectError.
func (e *Env) S3Server() *s3server.Server { return e.parts.S3Server }

// S3Client is an S3 client of the upload bucket's server, signing as the
// functions do.
func (e *Env) S3Client(t testing.TB) *s3.Client {
	t.Helper()
	cfg, err := awsconf.FromEnv(e.Deps.Config.Region, true)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.parts.Var(config.EnvS3Endpoint))
		o.UsePathStyle = true
	})
}

// ObjectTags reads an upload's tags over S3's API (GetObjectTagging), as
// the bucket's lifecycle rule sees them.
func (e *Env) ObjectTags(t testing.TB, key string) map[string]string {
	t.Helper()
	out, err := e.S3Client(t).GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{
		Bucket: aws.String(e.parts.Var(config.EnvUploadBucket)), Key: aws.String(key),
	})
	if err != nil {
		t.Fatalf("tags of %s: %v", key, err)
	}
	tags := map[string]string{}
	for _, tag := range out.TagSet {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}
