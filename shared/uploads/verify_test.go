package uploads_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/uploads"
)

func TestVerifyAcceptsOnlyUploadedImagesOfTheirTypeAndSize(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	up := w.sign(t, uploads.TerminalUser("acme", "u1"), "image/jpeg")[0]
	if status, body := upload(t, up, up.FormData, jpegPhoto); status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, body)
	}
	const prefix = "uploads/acme/u1/"
	w.put(prefix+"declared-text.jpg", "text/plain", jpegPhoto)
	w.put(prefix+"not-a-jpeg.jpg", "image/jpeg", []byte("hello, world"))
	w.put(prefix+"jpeg-as-png.png", "image/jpeg", jpegPhoto)
	w.put(prefix+"empty-photo.jpg", "image/jpeg", nil)
	w.put(prefix+"too-large.jpg", "image/jpeg", append(slices.Clone(jpegPhoto), make([]byte, uploads.MaxBytes)...))
	w.put(prefix+"a-png-photo.png", "image/png", pngPhoto)
	if err := w.bucket.Verify(ctx, []string{up.Key, prefix + "a-png-photo.png"}); err != nil {
		t.Fatalf("photos: %v", err)
	}
	cases := []struct {
		key  string
		kind apperr.Kind
		code string
	}{
		{prefix + "never-uploaded.jpg", apperr.Rejected, "photo_not_uploaded"},
		{prefix + "declared-text.jpg", apperr.Rejected, "photo_not_an_image"},
		{prefix + "not-a-jpeg.jpg", apperr.Rejected, "photo_not_an_image"},
		{prefix + "jpeg-as-png.png", apperr.Rejected, "photo_not_an_image"},
		{prefix + "empty-photo.jpg", apperr.Rejected, "photo_not_an_image"},
		{prefix + "too-large.jpg", apperr.TooLarge, "photo_too_large"},
	}
	for _, c := range cases {
		err := w.bucket.Verify(ctx, []string{up.Key, c.key, prefix + "a-png-photo.png"})
		if e := mustRefuse(t, err, c.kind, c.code); e.Details.(map[string]string)["key"] != c.key {
			t.Fatalf("%s: details %v", c.key, e.Details)
		}
	}

	w.srv.InjectError("GetObject", "InternalError", 100)
	if err := w.bucket.Verify(ctx, []string{up.Key}); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("S3 failing: %v", err)
	}
	w.srv.ClearErrors()
	if err := w.bucket.Verify(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := unconfigured(t).Verify(ctx, []string{up.Key}); err == nil {
		t.Fatal("verified without a bucket")
	}
}
