package uploads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/uploads"
)

// photoKey is the photo key shared/workorder accepts.
var photoKey = regexp.MustCompile(`^uploads/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{8,64}\.(jpg|jpeg|png)$`)

func TestAFormUploadStoresThePhotoWithItsTypeTaggedUnattached(t *testing.T) {
	w := setup(t)
	user := uploads.TerminalUser("acme", "u1")
	ups := w.sign(t, user, "image/jpeg", "image/png")
	files := [][]byte{jpegPhoto, pngPhoto}
	for i, up := range ups {
		if !user.Owns(up.Key) || !photoKey.MatchString(up.Key) || up.Name != "file" || up.URL != w.srv.URL+"/"+bucket {
			t.Fatalf("upload %+v", up)
		}
		if status, body := upload(t, up, up.FormData, files[i]); status != http.StatusNoContent {
			t.Fatalf("upload %s: %d %s", up.Key, status, body)
		}
		head, err := w.admin.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(up.Key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ContentType) != up.ContentType || aws.ToInt64(head.ContentLength) != int64(len(files[i])) {
			t.Fatalf("%s stored as %s, %d bytes", up.Key, aws.ToString(head.ContentType), aws.ToInt64(head.ContentLength))
		}
		if tags := w.srv.Tags(bucket, up.Key); len(tags) != 1 || tags[uploads.TagAttached] != "false" {
			t.Fatalf("tags of %s: %v", up.Key, tags)
		}
	}
	if ups[0].ContentType != "image/jpeg" || !strings.HasSuffix(ups[0].Key, ".jpg") || !strings.HasSuffix(ups[1].Key, ".png") {
		t.Fatalf("types %s %s, keys %s %s", ups[0].ContentType, ups[1].ContentType, ups[0].Key, ups[1].Key)
	}
	if err := w.bucket.Verify(context.Background(), []string{ups[0].Key, ups[1].Key}); err != nil {
		t.Fatalf("verify the uploads: %v", err)
	}
}

func TestTheFormEncodesAsWxUploadFileTakesIt(t *testing.T) {
	w := setup(t)
	up := w.sign(t, uploads.TerminalUser("acme", "u1"), "image/jpeg")[0]
	raw, err := json.Marshal(up)
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"key", "url", "name", "form_data", "content_type", "expires_at"} {
		if shape[name] == nil {
			t.Fatalf("no %s in %s", name, raw)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(shape["form_data"]))
	var names []string
	for tok, err := dec.Token(); err == nil; tok, err = dec.Token() {
		if s, ok := tok.(string); ok && dec.More() {
			names = append(names, s)
			_, _ = dec.Token() // its value
		}
	}
	want := []string{"key", "Content-Type", "tagging", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"}
	if !slices.Equal(names, want) {
		t.Fatalf("form_data fields %v, want %v in that order", names, want)
	}
	if !up.ExpiresAt.Equal(w.now().Add(uploads.URLExpiry)) {
		t.Fatalf("expires at %v", up.ExpiresAt)
	}
}

func TestS3RefusesAnUploadOutsideItsForm(t *testing.T) {
	w := setup(t)
	user := uploads.TerminalUser("acme", "u1")
	big := append(slices.Clone(jpegPhoto), make([]byte, uploads.MaxBytes)...)
	cases := []struct {
		name   string
		change func(uploads.Form) uploads.Form
		file   []byte
		later  time.Duration
		status int
		want   string
	}{
		{"as signed", same, jpegPhoto, 0, http.StatusNoContent, ""},
		{"larger than MaxBytes", same, big, 0, http.StatusBadRequest, "<Code>EntityTooLarge</Code>"},
		{"empty", same, []byte{}, 0, http.StatusBadRequest, "<Code>EntityTooSmall</Code>"},
		{"not an image", set("Content-Type", "text/plain"), jpegPhoto, 0, http.StatusForbidden, "<Code>AccessDenied</Code>"},
		{"of the other image type", set("Content-Type", "image/png"), jpegPhoto, 0, http.StatusForbidden, "Policy Condition failed"},
		{"outside the user's prefix", set("key", "uploads/acme/u2/aaaaaaaaaaaa.jpg"), jpegPhoto, 0, http.StatusForbidden, "Policy Condition failed"},
		{"tagged attached", set("tagging", "<Tagging><TagSet><Tag><Key>attached</Key><Value>true</Value></Tag></TagSet></Tagging>"),
			jpegPhoto, 0, http.StatusForbidden, "Policy Condition failed"},
		{"with an extra field", set("x-amz-meta-by", "me"), jpegPhoto, 0, http.StatusForbidden, "Extra input fields: x-amz-meta-by"},
		{"with a tampered signature", set("x-amz-signature", strings.Repeat("ab", 32)), jpegPhoto, 0, http.StatusForbidden,
			"<Code>SignatureDoesNotMatch</Code>"},
		{"after the form expired", same, jpegPhoto, uploads.URLExpiry + time.Second, http.StatusForbidden, "Policy expired."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := w.sign(t, user, "image/jpeg")[0]
			w.advance(c.later)
			defer w.advance(-c.later)
			form := c.change(slices.Clone(up.FormData))
			status, body := upload(t, up, form, c.file)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%d %s; want %d with %s", status, body, c.status, c.want)
			}
			if stored := w.stored(up.Key) || w.stored(form.Get("key")); stored != (c.status == http.StatusNoContent) {
				t.Fatalf("stored: %v", stored)
			}
		})
	}
}

func same(f uploads.Form) uploads.Form { return f }

// set changes a field of the form, or adds it before the policy.
func set(name, value string) func(uploads.Form) uploads.Form {
	return func(f uploads.Form) uploads.Form {
		for i := range f {
			if f[i].Name == name {
				f[i].Value = value
				return f
			}
		}
		return slices.Insert(f, len(f)-2, uploads.Field{Name: name, Value: value})
	}
}

func TestASessionTokenIsSignedIntoTheForm(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIATESTKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "session-secret")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	w := setup(t)
	up := w.sign(t, uploads.TerminalUser("acme", "u1"), "image/jpeg")[0]
	if up.FormData.Get("x-amz-security-token") != "session-token" || !strings.HasPrefix(up.FormData.Get("x-amz-credential"), "ASIATESTKEY/") {
		t.Fatalf("form %v", up.FormData)
	}
	withoutToken := slices.DeleteFunc(slices.Clone(up.FormData), func(f uploads.Field) bool { return f.Name == "x-amz-security-token" })
	if status, body := upload(t, up, withoutToken, jpegPhoto); status != http.StatusForbidden || !strings.Contains(body, "x-amz-security-token") {
		t.Fatalf("without the token: %d %s", status, body)
	}
	if status, body := upload(t, up, up.FormData, jpegPhoto); status != http.StatusNoContent {
		t.Fatalf("with the token: %d %s", status, body)
	}
}

func TestEachOwnerHasAtMostMaxSlotsFormsPerWindow(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	user := uploads.TerminalUser("acme", "u1")
	take := func(owner uploads.Owner, n int) error {
		_, err := w.signer().Sign(ctx, owner, uploads.Request{ContentType: "image/jpeg", Count: n})
		return err
	}
	for _, n := range []int{9, 9} {
		if err := take(user, n); err != nil {
			t.Fatal(err)
		}
	}
	refused := mustRefuse(t, take(user, 9), apperr.RateLimited, "too_many_uploads")
	if refused.RetryAfter <= 0 || refused.RetryAfter > uploads.SlotWindow {
		t.Fatalf("retry after %v", refused.RetryAfter)
	}
	if err := take(user, uploads.MaxSlots-18); err != nil {
		t.Fatalf("the last slots: %v", err)
	}
	_ = mustRefuse(t, take(user, 1), apperr.RateLimited, "too_many_uploads")
	for _, other := range []uploads.Owner{uploads.TerminalUser("acme", "u2"), uploads.TerminalUser("beta", "u1"), uploads.Engineer("acme", "u1")} {
		if err := take(other, 9); err != nil {
			t.Fatalf("%s: %v", other.Prefix(), err)
		}
	}
	w.advance(uploads.SlotWindow)
	if err := take(user, 9); err != nil {
		t.Fatalf("in the next window: %v", err)
	}
}

func TestARequestOutsideTheLimitsIsInvalid(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	user := uploads.TerminalUser("acme", "u1")
	for _, req := range []uploads.Request{
		{ContentType: "image/gif", Count: 1},
		{ContentType: "image/jpeg", Count: 0},
		{ContentType: "image/jpeg", Count: uploads.MaxFiles + 1},
		{ContentTypes: []string{"image/jpeg", "image/gif"}},
		{ContentTypes: make([]string, uploads.MaxFiles+1)},
		{ContentType: "image/jpeg", ContentTypes: []string{"image/jpeg"}},
	} {
		if err := func() error { _, err := w.signer().Sign(ctx, user, req); return err }(); apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	if _, err := w.signer().Sign(ctx, uploads.TerminalUser("a/b", "u1"), uploads.Request{ContentType: "image/jpeg", Count: 1}); err == nil {
		t.Fatal("signed for a tenant id that cannot name a folder")
	}
	if _, err := uploads.NewFormSigner(unconfigured(t), nil, w.now).Sign(ctx, user, uploads.Request{ContentType: "image/jpeg", Count: 1}); err == nil {
		t.Fatal("signed without a bucket")
	}
}

func TestEngineersUploadToTheirOwnFolders(t *testing.T) {
	w := setup(t)
	user, engineer, odd := uploads.TerminalUser("acme", "u1"), uploads.Engineer("acme", "u1"), uploads.Engineer("acme", "crm:7/Li")
	if engineer.Prefix() != "uploads/acme/eng-u1/" || !strings.HasPrefix(odd.Prefix(), "uploads/acme/engx-") {
		t.Fatalf("prefixes %s %s", engineer.Prefix(), odd.Prefix())
	}
	for _, owner := range []uploads.Owner{engineer, odd} {
		up := w.sign(t, owner, "image/png")[0]
		if !owner.Owns(up.Key) || user.Owns(up.Key) || !photoKey.MatchString(up.Key) {
			t.Fatalf("key %s of %s", up.Key, owner.Prefix())
		}
		if status, body := upload(t, up, up.FormData, pngPhoto); status != http.StatusNoContent {
			t.Fatalf("%d %s", status, body)
		}
	}
	if user.Owns("uploads/acme/u1/../eng-u1/aaaaaaaaaa.jpg") || user.Owns("uploads/acme/u1/short.jpg") {
		t.Fatal("owns a key outside the pattern")
	}
}

func TestTheUploadDomainComesFromThePartition(t *testing.T) {
	cases := []struct{ region, endpoint, url, domain string }{
		{"cn-north-1", "", "https://photos.s3.cn-north-1.amazonaws.com.cn", "https://photos.s3.cn-north-1.amazonaws.com.cn"},
		{"cn-northwest-1", "", "https://photos.s3.cn-northwest-1.amazonaws.com.cn", "https://photos.s3.cn-northwest-1.amazonaws.com.cn"},
		{"us-east-1", "", "https://photos.s3.us-east-1.amazonaws.com", "https://photos.s3.us-east-1.amazonaws.com"},
		{"ap-east-1", "", "https://photos.s3.ap-east-1.amazonaws.com", "https://photos.s3.ap-east-1.amazonaws.com"},
		{"cn-north-1", "http://127.0.0.1:9000", "http://127.0.0.1:9000/photos", "http://127.0.0.1:9000"},
	}
	for _, c := range cases {
		cfg := config.Config{Region: c.region, UploadBucket: bucket, S3Endpoint: c.endpoint}
		u, err := uploads.BucketURL(cfg)
		if err != nil {
			t.Fatal(err)
		}
		domain, err := uploads.UploadDomain(cfg)
		if err != nil || strings.TrimSuffix(u.String(), "/") != c.url || domain != c.domain {
			t.Fatalf("%s %s: url %s, domain %s (%v)", c.region, c.endpoint, u, domain, err)
		}
	}
}
