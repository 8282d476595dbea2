package s3server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/local/s3server"
)

const tagging = "<Tagging><TagSet><Tag><Key>attached</Key><Value>false</Value></Tag></TagSet></Tagging>"

// field is one form field.
type field struct{ name, value string }

// form is a browser upload as a client sends it: fields, then the file
// (unless fileAt puts it earlier).
type form struct {
	fields   []field
	file     []byte
	filename string
	fileAt   int // index in fields before which the file goes; -1: last
}

// policyForm builds the form of fields signed with secret under the key
// "local": the signature fields, each named by an exact condition, are
// added after fields, and conditions are the policy's others.
func policyForm(secret string, expiration time.Time, conditions []any, fields ...field) form {
	at := time.Now().UTC()
	scope := at.Format("20060102") + "/cn-north-1/s3/aws4_request"
	fields = append(fields, field{"x-amz-algorithm", "AWS4-HMAC-SHA256"}, field{"x-amz-credential", "local/" + scope},
		field{"x-amz-date", at.Format("20060102T150405Z")})
	for _, f := range fields[len(fields)-3:] {
		conditions = append(conditions, map[string]string{f.name: f.value})
	}
	doc, _ := json.Marshal(map[string]any{"expiration": expiration.UTC().Format("2006-01-02T15:04:05.000Z"), "conditions": conditions})
	policy := base64.StdEncoding.EncodeToString(doc)
	return form{fields: append(fields, field{"policy", policy}, field{"x-amz-signature", sigV4(secret, scope, policy)}),
		file: []byte("\xff\xd8\xff photo"), filename: "tmp_1.jpg", fileAt: -1}
}

// sigV4 signs a policy with the key derived for scope.
func sigV4(secret, scope, policy string) string {
	key := []byte("AWS4" + secret)
	for part := range strings.SplitSeq(scope, "/") {
		key = hmacSum(key, part)
	}
	return hex.EncodeToString(hmacSum(key, policy))
}

func hmacSum(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// set replaces a field's value, or adds the field.
func (f form) set(name, value string) form {
	fields := make([]field, 0, len(f.fields)+1)
	found := false
	for _, fl := range f.fields {
		if fl.name == name {
			fl.value, found = value, true
		}
		fields = append(fields, fl)
	}
	if !found {
		fields = append(fields, field{name, value})
	}
	f.fields = fields
	return f
}

// post sends the form to the bucket's URL and returns the status and body.
func (f form) post(t *testing.T, srv *s3server.Server) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	writeFile := func() {
		if f.file != nil {
			w, _ := mw.CreateFormFile("file", f.filename)
			_, _ = w.Write(f.file)
		}
	}
	for i, fl := range f.fields {
		if i == f.fileAt {
			writeFile()
		}
		_ = mw.WriteField(fl.name, fl.value)
	}
	if f.fileAt < 0 {
		writeFile()
	}
	_ = mw.Close()
	resp, err := http.Post(srv.URL+"/"+bucket, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// photoForm is a form for uploads/u/<filename> of image/jpeg, 1 to 10
// bytes, tagged attached=false, valid for a minute.
func photoForm(secret string) form {
	return policyForm(secret, time.Now().Add(time.Minute), []any{
		map[string]string{"bucket": bucket}, []any{"starts-with", "$key", "uploads/u/"}, []any{"eq", "$Content-Type", "image/jpeg"},
		[]any{"content-length-range", 1, 10}, map[string]string{"tagging": tagging}, []any{"starts-with", "$x-amz-meta-note", ""},
	}, field{"key", "uploads/u/${filename}"}, field{"Content-Type", "image/jpeg"}, field{"tagging", tagging}, field{"x-amz-meta-note", "hi"})
}

func TestAPostedFormStoresTheFileWithItsTypeTagsAndMetadata(t *testing.T) {
	srv, client := start(t, "local-secret")
	f := photoForm("local-secret")
	f.filename = `C:\tmp\a.jpg`
	if status, body := f.post(t, srv); status != http.StatusNoContent {
		t.Fatalf("post: %d %s", status, body)
	}
	head, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("uploads/u/a.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "image/jpeg" || aws.ToInt64(head.ContentLength) != int64(len(f.file)) || head.Metadata["note"] != "hi" {
		t.Fatalf("head: type %q, length %d, metadata %v", aws.ToString(head.ContentType), aws.ToInt64(head.ContentLength), head.Metadata)
	}
	if tags := srv.Tags(bucket, "uploads/u/a.jpg"); len(tags) != 1 || tags["attached"] != "false" {
		t.Fatalf("tags %v", tags)
	}

	created := photoForm("local-secret").set("success_action_status", "201")
	if status, body := created.post(t, srv); status != http.StatusForbidden || !strings.Contains(body, "Extra input fields: success_action_status") {
		t.Fatalf("success_action_status outside the policy: %d %s", status, body)
	}
	created = policyForm("local-secret", time.Now().Add(time.Minute), []any{
		map[string]string{"key": "uploads/u/b.jpg"}, map[string]string{"success_action_status": "201"},
	}, field{"key", "uploads/u/b.jpg"}, field{"success_action_status", "201"})
	if status, body := created.post(t, srv); status != http.StatusCreated || !strings.Contains(body, "<Key>uploads/u/b.jpg</Key>") {
		t.Fatalf("success_action_status 201: %d %s", status, body)
	}

	srv.InjectError("PostObject", "ServiceUnavailable", 1)
	if status, _ := photoForm("local-secret").post(t, srv); status != http.StatusServiceUnavailable {
		t.Fatalf("injected failure: %d", status)
	}
}

func TestAFormOutsideItsPolicyIsRefusedAsS3RefusesIt(t *testing.T) {
	srv, _ := start(t, "local-secret")
	good := func() form { return photoForm("local-secret") }
	withFile := func(b []byte) form { f := good(); f.file = b; return f }
	cases := []struct {
		name   string
		form   form
		status int
		want   string // in the body
	}{
		{"as signed", good(), http.StatusNoContent, ""},
		{"with an x-ignore- field", good().set("x-ignore-client", "wx"), http.StatusNoContent, ""},
		{"too large", withFile([]byte("12345678901")), http.StatusBadRequest,
			"<Code>EntityTooLarge</Code>" + "<Message>Your proposed upload exceeds the maximum allowed size</Message>" +
				"<ProposedSize>11</ProposedSize><MaxSizeAllowed>10</MaxSizeAllowed>"},
		{"empty", withFile([]byte{}), http.StatusBadRequest, "<Code>EntityTooSmall</Code>"},
		{"of another type", good().set("Content-Type", "text/plain"), http.StatusForbidden,
			`<Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/jpeg"]`},
		{"outside the key prefix", good().set("key", "uploads/v/a.jpg"), http.StatusForbidden, `Policy Condition failed: ["starts-with", "$key"`},
		{"with another tag", good().set("tagging", strings.ReplaceAll(tagging, "false", "true")), http.StatusForbidden, "Policy Condition failed"},
		{"with a field outside the policy", good().set("x-amz-meta-extra", "1"), http.StatusForbidden,
			"Invalid according to Policy: Extra input fields: x-amz-meta-extra"},
		{"expired", policyForm("local-secret", time.Now().Add(-time.Second), []any{map[string]string{"key": "k.jpg"}}, field{"key", "k.jpg"}),
			http.StatusForbidden, "Invalid according to Policy: Policy expired."},
		{"with a tampered signature", good().set("x-amz-signature", strings.Repeat("0", 64)), http.StatusForbidden, "<Code>SignatureDoesNotMatch</Code>"},
		{"signed with another secret", photoForm("another-secret"), http.StatusForbidden, "<Code>SignatureDoesNotMatch</Code>"},
		{"with a tampered policy", good().set("policy", base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`))),
			http.StatusForbidden, "<Code>SignatureDoesNotMatch</Code>"},
		{"of an unknown key id", good().set("x-amz-credential", "someone/"+time.Now().UTC().Format("20060102")+"/cn-north-1/s3/aws4_request"),
			http.StatusForbidden, "<Code>InvalidAccessKeyId</Code>"},
		{"without a policy", form{fields: []field{{"key", "a.jpg"}}, file: []byte("x"), fileAt: -1}, http.StatusForbidden, "<Code>AccessDenied</Code>"},
		{"with the key after the file", func() form { f := good(); f.fileAt = 0; return f }(), http.StatusBadRequest,
			"<Code>InvalidArgument</Code><Message>Bucket POST must contain a field named 'key'."},
		{"without a file", func() form { f := good(); f.file = nil; return f }(), http.StatusBadRequest,
			"<Message>POST requires exactly one file upload per request.</Message><ArgumentName>file</ArgumentName>"},
		{"with a policy that is not JSON", policyForm("local-secret", time.Now().Add(time.Minute), nil, field{"key", "k.jpg"}).
			set("policy", "bm90IGpzb24=").set("x-amz-signature", sigV4("local-secret", time.Now().UTC().Format("20060102")+
			"/cn-north-1/s3/aws4_request", "bm90IGpzb24=")), http.StatusBadRequest, "<Code>InvalidPolicyDocument</Code>"},
		{"for another bucket", policyForm("local-secret", time.Now().Add(time.Minute), []any{map[string]string{"bucket": "other"},
			map[string]string{"key": "k.jpg"}}, field{"key", "k.jpg"}), http.StatusForbidden, `["eq", "$bucket", "other"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _ = srv.Backend.DeleteMulti(bucket, "uploads/u/tmp_1.jpg", "k.jpg", "a.jpg")
			status, body := c.form.post(t, srv)
			if status != c.status || !strings.Contains(html.UnescapeString(body), c.want) { // the XML escapes quotes
				t.Fatalf("%d %s; want %d with %s", status, body, c.status, c.want)
			}
			_, err := srv.Backend.HeadObject(bucket, "uploads/u/tmp_1.jpg")
			if stored := err == nil; stored != (c.status == http.StatusNoContent) {
				t.Fatalf("stored: %v", stored)
			}
		})
	}
}

func TestAPresignedGetWorksUnchangedUntilItExpires(t *testing.T) {
	var offset atomic.Int64
	_, client := startAt(t, "local-secret", func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	ctx := context.Background()
	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg"), Body: strings.NewReader("photo"),
		ContentType: aws.String("image/jpeg")})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a.jpg")},
		s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, string, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	if status, contentType, body := get(signed.URL); status != http.StatusOK || contentType != "image/jpeg" || body != "photo" {
		t.Fatalf("presigned GET: %d %s %q", status, contentType, body)
	}
	tampered := strings.Replace(signed.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	if status, _, body := get(tampered); status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("tampered: %d %s", status, body)
	}
	offset.Store(int64(2 * time.Minute))
	if status, _, body := get(signed.URL); status != http.StatusForbidden || !strings.Contains(body, "Request has expired") {
		t.Fatalf("expired: %d %s", status, body)
	}
}
