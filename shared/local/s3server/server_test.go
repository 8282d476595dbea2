package s3server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/local/s3server"
)

const bucket = "photos"

// start runs a stand-in with one bucket that accepts the key "local" and
// returns it with the real SDK client signing with secret.
func start(t *testing.T, secret string) (*s3server.Server, *s3.Client) {
	t.Helper()
	return startAt(t, secret, time.Now)
}

// startAt is start with the server's clock.
func startAt(t *testing.T, secret string, now func() time.Time) (*s3server.Server, *s3.Client) {
	t.Helper()
	srv, err := s3server.Start(s3server.Options{Buckets: []string{bucket}, Keys: map[string]string{"local": "local-secret"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client := s3.New(s3.Options{Region: "cn-north-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", secret, "")})
	return srv, client
}

func errorCode(err error) string {
	if api, ok := errors.AsType[smithy.APIError](err); ok {
		return api.ErrorCode()
	}
	return ""
}

func tagsOf(t *testing.T, client *s3.Client, key string) map[string]string {
	t.Helper()
	out, err := client.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObjectTagging %s: %v", key, err)
	}
	tags := map[string]string{}
	for _, tag := range out.TagSet {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

func TestTagsSentWithAnObjectAreReplacedByPutObjectTaggingAndTheBodyIsKept(t *testing.T) {
	srv, client := start(t, "local-secret")
	ctx := context.Background()
	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"),
		Body: strings.NewReader("photo"), Tagging: aws.String("attached=false&by=test")})
	if err != nil {
		t.Fatal(err)
	}
	if tags := tagsOf(t, client, "a.jpg"); len(tags) != 2 || tags["attached"] != "false" || tags["by"] != "test" {
		t.Fatalf("tags after PutObject %v", tags)
	}
	_, err = client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("attached"), Value: aws.String("true")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if tags := tagsOf(t, client, "a.jpg"); len(tags) != 1 || tags["attached"] != "true" {
		t.Fatalf("tags after PutObjectTagging %v", tags)
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	head, _ := srv.Backend.HeadObject(bucket, "a.jpg")
	if string(body) != "photo" || head.Metadata["X-Amz-Tagging"] != "" {
		t.Fatalf("body %q, metadata %v", body, head.Metadata)
	}
	if _, err := client.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg")}); err != nil {
		t.Fatal(err)
	}
	if tags := tagsOf(t, client, "a.jpg"); len(tags) != 0 {
		t.Fatalf("tags after DeleteObjectTagging %v", tags)
	}
}

func TestTaggingAMissingObjectOrElevenTagsIsRefused(t *testing.T) {
	_, client := start(t, "local-secret")
	ctx := context.Background()
	_, err := client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("never-uploaded.jpg"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("attached"), Value: aws.String("true")}}}})
	if errorCode(err) != "NoSuchKey" {
		t.Fatalf("tagging a missing object: %v", err)
	}
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("k%d=v", i))
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("b.jpg"), Body: strings.NewReader("x"),
		Tagging: aws.String(strings.Join(eleven, "&"))})
	if errorCode(err) != "InvalidTag" {
		t.Fatalf("11 tags: %v", err)
	}
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("b.jpg")}); err == nil {
		t.Fatal("an object with 11 tags was stored")
	}
}

func TestRequestsSignedWithAnotherSecretOrUnsignedAreRefused(t *testing.T) {
	srv, wrong := start(t, "another-secret")
	_, err := wrong.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"),
		Body: strings.NewReader("photo")})
	if errorCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("another secret: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/"+bucket+"/a.jpg", strings.NewReader("photo"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous PUT: %d", resp.StatusCode)
	}
	if _, err := srv.Backend.HeadObject(bucket, "a.jpg"); err == nil {
		t.Fatal("a refused PUT stored the object")
	}
}

// presignedPut signs a PUT with the tag and returns the request built from
// the URL with the signed headers, as a client of the presigner builds it.
func presignedPut(t *testing.T, client *s3.Client, key string, expires time.Duration) *http.Request {
	t.Helper()
	signed, err := s3.NewPresignClient(client).PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String(key), ContentType: aws.String("image/jpeg"), Tagging: aws.String("attached=false")}, s3.WithPresignExpires(expires))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(signed.Method, signed.URL, bytes.NewReader([]byte("photo")))
	for k, v := range signed.SignedHeader {
		if k != "Host" {
			req.Header.Set(k, v[0])
		}
	}
	return req
}

// put sends req and returns the status, and whether the object is stored.
func put(t *testing.T, srv *s3server.Server, req *http.Request) (int, bool) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	_, err = srv.Backend.HeadObject(bucket, strings.TrimPrefix(req.URL.Path, "/"+bucket+"/"))
	return resp.StatusCode, err == nil
}

func TestAPresignedPutNeedsEverySignedHeaderUnchanged(t *testing.T) {
	srv, client := start(t, "local-secret")
	cases := []struct {
		name   string
		change func(*http.Request)
		status int
	}{
		{"as signed", func(*http.Request) {}, http.StatusOK},
		{"without the tagging header", func(r *http.Request) { r.Header.Del("X-Amz-Tagging") }, http.StatusForbidden},
		{"with another tag", func(r *http.Request) { r.Header.Set("X-Amz-Tagging", "attached=true") }, http.StatusForbidden},
		{"with another content type", func(r *http.Request) { r.Header.Set("Content-Type", "image/png") }, http.StatusForbidden},
		{"with an unsigned x-amz header", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Who", "me") }, http.StatusForbidden},
		{"under another key", func(r *http.Request) { r.URL.Path += ".png" }, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := presignedPut(t, client, strings.ReplaceAll(c.name, " ", "-")+".jpg", time.Minute)
			c.change(req)
			if status, stored := put(t, srv, req); status != c.status || stored != (c.status == http.StatusOK) {
				t.Fatalf("status %d (stored %v), want %d", status, stored, c.status)
			}
		})
	}
	if tags := srv.Tags(bucket, "as-signed.jpg"); tags["attached"] != "false" {
		t.Fatalf("tags of the presigned upload %v", tags)
	}
}

func TestAnExpiredPresignedPutIsRefused(t *testing.T) {
	later := func() time.Time { return time.Now().Add(16 * time.Minute) }
	srv, client := startAt(t, "local-secret", later)
	if status, stored := put(t, srv, presignedPut(t, client, "late.jpg", 15*time.Minute)); status != http.StatusForbidden || stored {
		t.Fatalf("status %d (stored %v) 16 minutes after a 15-minute URL was signed", status, stored)
	}
}

func TestAnInjectedFailureAnswersAsS3AndThenPasses(t *testing.T) {
	srv, client := start(t, "local-secret")
	ctx := context.Background()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	srv.InjectError("PutObjectTagging", "ServiceUnavailable", 1)
	tag := &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("attached"), Value: aws.String("true")}}}}
	if _, err := client.PutObjectTagging(ctx, tag); errorCode(err) != "ServiceUnavailable" {
		t.Fatalf("injected failure: %v", err)
	}
	if _, err := client.PutObjectTagging(ctx, tag); err != nil {
		t.Fatalf("after the injected failure: %v", err)
	}
}
