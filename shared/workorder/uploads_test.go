package workorder_test

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

// photoUser logs a terminal user of acme in through a portal QR code.
func photoUser(a *testenv.API, openid string) string {
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	return a.Must(a.Login(scene, openid), 200).Str("session_token")
}

// upload is one presigned upload as /portal/uploads returns it.
type upload struct {
	key, method, url string
	headers          map[string]string
}

func presign(a *testenv.API, session string, count int) []upload {
	a.T.Helper()
	r := a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/jpeg", "count": count}), 201)
	var out []upload
	for _, u := range r.List("uploads") {
		m := u.(map[string]any)
		up := upload{key: m["key"].(string), method: m["method"].(string), url: m["url"].(string), headers: map[string]string{}}
		for k, v := range m["headers"].(map[string]any) {
			up.headers[k] = v.(string)
		}
		out = append(out, up)
	}
	if len(out) != count {
		a.T.Fatalf("uploads %s", r.Raw)
	}
	return out
}

// send PUTs a photo to the presigned URL with headers, as the mini program
// does, and returns S3's status and body.
func send(t testing.TB, up upload, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(up.method, up.url, bytes.NewReader([]byte("\xff\xd8\xff photo bytes")))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// uploadPhotos presigns count photos and uploads them as the mini program
// does.
func uploadPhotos(a *testenv.API, session string, count int) []string {
	a.T.Helper()
	var keys []string
	for _, up := range presign(a, session, count) {
		if status, body := send(a.T, up, up.headers); status != http.StatusOK {
			a.T.Fatalf("PUT to the presigned URL: %d %s", status, body)
		}
		keys = append(keys, up.key)
	}
	return keys
}

func TestPhotosUploadWithPresignedURLs(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-photo")

	a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/gif", "count": 1}), 400)
	a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/jpeg", "count": 10}), 400)
	a.Must(a.Do("POST", "/portal/uploads", "", map[string]any{"content_type": "image/jpeg", "count": 1}), 401)
	keys := uploadPhotos(a, session, 2)
	for _, key := range keys {
		if !strings.HasPrefix(key, "uploads/acme/") {
			t.Fatalf("key %s outside the tenant's prefix", key)
		}
		if _, err := a.S3.HeadObject(testenv.UploadBucket, key); err != nil {
			t.Fatalf("uploaded object missing: %v", err)
		}
	}
	body := order(31.2, 121.4, "")
	body["photos"] = keys
	id := a.Must(a.Do("POST", "/portal/work-orders", session, body), 201).Str("work_order", "id")
	detail := a.Must(a.Do("GET", "/portal/work-orders/"+id, session, nil), 200)
	if photos := detail.Body["photos"].([]any); len(photos) != 2 || photos[0] != keys[0] {
		t.Fatalf("photos %s", detail.Raw)
	}
}

func TestAnUploadIsTaggedUnattachedAndRefusedWithoutTheTag(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-tags")
	ups := presign(a, session, 3)
	if ups[0].headers["X-Amz-Tagging"] != "attached=false" || ups[0].headers["Content-Type"] != "image/jpeg" {
		t.Fatalf("headers to send %v", ups[0].headers)
	}

	if status, body := send(t, ups[0], ups[0].headers); status != http.StatusOK {
		t.Fatalf("PUT with the returned headers: %d %s", status, body)
	}
	if tags := a.ObjectTags(t, ups[0].key); !maps.Equal(tags, map[string]string{"attached": "false"}) {
		t.Fatalf("tags of a new upload %v", tags)
	}

	untagged := maps.Clone(ups[1].headers)
	delete(untagged, "X-Amz-Tagging")
	retagged := maps.Clone(ups[2].headers)
	retagged["X-Amz-Tagging"] = "attached=true"
	for _, c := range []struct {
		up      upload
		headers map[string]string
	}{{ups[1], untagged}, {ups[2], retagged}} {
		if status, body := send(t, c.up, c.headers); status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
			t.Fatalf("PUT with x-amz-tagging %q: %d %s", c.headers["X-Amz-Tagging"], status, body)
		}
		if _, err := a.S3.HeadObject(testenv.UploadBucket, c.up.key); err == nil {
			t.Fatalf("%s stored without the signed tag", c.up.key)
		}
	}
}

func TestANewOrderTagsItsPhotosAttachedAndADuplicateLeavesItsOwnUnattached(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-attach")
	keys := uploadPhotos(a, session, 9)
	body := order(31.2, 121.4, "AC-PHOTO-1")
	body["photos"] = keys
	a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "photos-0001"), 201)
	for _, key := range keys {
		if tags := a.ObjectTags(t, key); !maps.Equal(tags, map[string]string{"attached": "true"}) {
			t.Fatalf("tags of %s after the order %v", key, tags)
		}
	}
	a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "photos-0001"), 200)

	// The same fault again is answered with the open order: the second
	// photo is in no order, and expires.
	again := uploadPhotos(a, session, 1)
	body["photos"] = again
	if dup := a.Must(a.Do("POST", "/portal/work-orders", session, body), 200); dup.Body["duplicate"] != true {
		t.Fatalf("duplicate %s", dup.Raw)
	}
	if tags := a.ObjectTags(t, again[0]); tags["attached"] != "false" {
		t.Fatalf("tags of a duplicate's photo %v", tags)
	}
}

func TestAnOrderIsNotWrittenWhileItsPhotosCannotBeTaggedAndARetryWritesIt(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-s3down")
	keys := uploadPhotos(a, session, 3)
	body := order(31.2, 121.4, "")
	body["photos"] = keys

	a.S3Server().InjectError("PutObjectTagging", "ServiceUnavailable", 1000)
	failed := a.MustError(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "s3down-001"), 503, "photo_storage_unavailable")
	if failed.Header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After on %s", failed.Raw)
	}
	if list := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200).List("work_orders"); len(list) != 0 {
		t.Fatalf("an order was written without its photos attached: %v", list)
	}
	for _, key := range keys {
		if tags := a.ObjectTags(t, key); tags["attached"] != "false" {
			t.Fatalf("tags of %s %v", key, tags)
		}
	}

	a.S3Server().ClearErrors()
	a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "s3down-001"), 201)
	for _, key := range keys {
		if tags := a.ObjectTags(t, key); tags["attached"] != "true" {
			t.Fatalf("tags of %s after the retry %v", key, tags)
		}
	}
}

func TestAnOrderWithAPhotoNeverUploadedIsRefused(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-noupload")
	ups := presign(a, session, 2)
	if status, body := send(t, ups[0], ups[0].headers); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	body := order(31.2, 121.4, "")
	body["photos"] = []string{ups[0].key, ups[1].key}
	refused := a.MustError(a.Do("POST", "/portal/work-orders", session, body), 400, "photo_not_uploaded")
	if refused.Str("error", "details", "key") != ups[1].key {
		t.Fatalf("refusal %s", refused.Raw)
	}
	if list := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200).List("work_orders"); len(list) != 0 {
		t.Fatalf("an order was written with a missing photo: %v", list)
	}
}
