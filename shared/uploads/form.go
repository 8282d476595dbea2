package uploads

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FileField is the name of an upload form's file part (wx.uploadFile's
// name): S3 takes the file from the field named file, sent last.
const FileField = "file"

// SigV4 for browser-based uploads: the string to sign is the base64 policy.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	amzDateFormat    = "20060102T150405Z"
	policyTimeFormat = "2006-01-02T15:04:05.000Z"
	// taggingDocument is the tagging field of every upload: S3 tags a
	// posted object with the Tagging XML document of the form.
	taggingDocument = "<Tagging><TagSet><Tag><Key>" + TagAttached + "</Key><Value>false</Value></Tag></TagSet></Tagging>"
)

// Field is one field of an upload form.
type Field struct {
	Name, Value string
}

// Form is an upload form's fields other than the file, in the order they
// are sent. It encodes as a JSON object in that order: wx.uploadFile's
// formData.
type Form []Field

// MarshalJSON writes the fields as one object, in order.
func (f Form) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, field := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(field.Name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(field.Value)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns a field's value ("" when the form has none).
func (f Form) Get(name string) string {
	for _, field := range f {
		if field.Name == name {
			return field.Value
		}
	}
	return ""
}

// FormUpload is one signed upload: the mini program calls
// wx.uploadFile({url: URL, name: Name, formData: FormData, filePath}) and
// S3 stores the file under Key if it is an image of ContentType of at most
// MaxBytes, posted before ExpiresAt.
type FormUpload struct {
	Key         string    `json:"key"`
	URL         string    `json:"url"`
	Name        string    `json:"name"`
	FormData    Form      `json:"form_data"`
	ContentType string    `json:"content_type"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// FormSigner signs upload forms for one bucket, within each owner's slots.
type FormSigner struct {
	bucket *Bucket
	slots  *Slots
	now    func() time.Time
}

// NewFormSigner returns the form signer of the bucket; slots limits how
// many uploads each owner is given.
func NewFormSigner(b *Bucket, slots *Slots, now func() time.Time) *FormSigner {
	return &FormSigner{bucket: b, slots: slots, now: now}
}

// Sign returns one form per requested file, each for a new key under the
// owner's prefix. S3 refuses a post under another key, of another
// Content-Type, without the attached=false tagging, of 0 or more than
// MaxBytes bytes, with any field the policy does not name, or after
// URLExpiry. The forms count against the owner's slots (429 when spent).
func (s *FormSigner) Sign(ctx context.Context, owner Owner, req Request) ([]FormUpload, error) {
	if err := s.bucket.configured(); err != nil {
		return nil, err
	}
	if err := owner.valid(); err != nil {
		return nil, err
	}
	types, err := req.contentTypes()
	if err != nil {
		return nil, err
	}
	creds, err := s.bucket.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("upload signing credentials: %w", err)
	}
	if err := s.slots.Take(ctx, owner, len(types)); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	out := make([]FormUpload, 0, len(types))
	for _, contentType := range types {
		key := owner.newKey(contentType)
		form := signForm(creds, s.bucket.region, uploadPolicy{bucket: s.bucket.name, key: key, contentType: contentType, at: now})
		out = append(out, FormUpload{Key: key, URL: s.bucket.url, Name: FileField, FormData: form, ContentType: contentType,
			ExpiresAt: now.Add(URLExpiry)})
	}
	return out, nil
}

// uploadPolicy is what one form allows.
type uploadPolicy struct {
	bucket, key, contentType string
	at                       time.Time
}

// signForm builds the form of p signed with creds: the fields, then the
// policy naming each of them exactly (with the bucket and the size range),
// then its signature.
func signForm(creds aws.Credentials, region string, p uploadPolicy) Form {
	date := p.at.Format("20060102")
	scope := date + "/" + region + "/s3/aws4_request"
	form := Form{
		{"key", p.key},
		{"Content-Type", p.contentType},
		{"tagging", taggingDocument},
		{"x-amz-algorithm", sigAlgorithm},
		{"x-amz-credential", creds.AccessKeyID + "/" + scope},
		{"x-amz-date", p.at.Format(amzDateFormat)},
	}
	if creds.SessionToken != "" {
		form = append(form, Field{"x-amz-security-token", creds.SessionToken})
	}
	conditions := []any{map[string]string{"bucket": p.bucket}, []any{"content-length-range", 1, MaxBytes}}
	for _, f := range form {
		conditions = append(conditions, map[string]string{f.Name: f.Value})
	}
	policy := base64.StdEncoding.EncodeToString(policyDocument(p.at.Add(URLExpiry), conditions))
	key := []byte("AWS4" + creds.SecretAccessKey)
	for _, part := range []string{date, region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return append(form, Field{"policy", policy}, Field{"x-amz-signature", hex.EncodeToString(hmacSHA256(key, policy))})
}

// policyDocument is the policy's JSON, with < and > as they are (the
// tagging document), not escaped for HTML.
func policyDocument(expiration time.Time, conditions []any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}{expiration.UTC().Format(policyTimeFormat), conditions}) // strings and ints: never fails
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
