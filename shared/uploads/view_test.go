package uploads_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/uploads"
)

func TestPhotoLinksShowThePhotoUntilTheyExpire(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	up := w.sign(t, uploads.TerminalUser("acme", "u1"), "image/jpeg")[0]
	if status, body := upload(t, up, up.FormData, jpegPhoto); status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, body)
	}
	views, err := w.bucket.ViewURLs(ctx, []string{up.Key}, uploads.ViewExpiry)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].Key != up.Key || time.Until(views[0].ExpiresAt) > uploads.ViewExpiry ||
		time.Until(views[0].ExpiresAt) < uploads.ViewExpiry-time.Minute {
		t.Fatalf("views %+v", views)
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get(views[0].URL); status != http.StatusOK || body != string(jpegPhoto) {
		t.Fatalf("GET the link: %d %q", status, body)
	}
	tampered := strings.Replace(views[0].URL, "X-Amz-Signature=", "X-Amz-Signature=1", 1)
	if status, body := get(tampered); status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("tampered link: %d %s", status, body)
	}
	otherKey := strings.Replace(views[0].URL, ".jpg?", "x.jpg?", 1)
	if status, _ := get(otherKey); status != http.StatusForbidden {
		t.Fatalf("the link of another key: %d", status)
	}
	w.advance(uploads.ViewExpiry + time.Minute)
	if status, body := get(views[0].URL); status != http.StatusForbidden || !strings.Contains(body, "Request has expired") {
		t.Fatalf("expired link: %d %s", status, body)
	}

	if views, err := w.bucket.ViewURLs(ctx, nil, uploads.ViewExpiry); err != nil || views != nil {
		t.Fatalf("no keys: %v %v", views, err)
	}
	if _, err := unconfigured(t).ViewURLs(ctx, []string{up.Key}, uploads.ViewExpiry); err == nil {
		t.Fatal("presigned without a bucket")
	}
}
