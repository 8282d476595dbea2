package workorder_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/uploads"
)

// Files as a phone gives them: the first bytes of each image type, then
// the rest.
var (
	jpegPhoto = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "jpeg photo"...)
	pngPhoto  = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, "png signature"...)
	textFile  = []byte("not a photo at all")
)

// photoUser logs a terminal user of acme in through a portal QR code.
func photoUser(a *testenv.API, openid string) string {
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	return a.Must(a.Login(scene, openid), 200).Str("session_token")
}

// Upload routes: the terminal user's and the engineer's.
const (
	portalUploads   = "/portal/uploads"
	engineerUploads = "/engineer/uploads"
)

// forms asks route for one upload form per content type, as token.
func forms(a *testenv.API, route, token string, contentTypes ...string) []apiclient.Upload {
	a.T.Helper()
	r := a.Must(a.Do("POST", route, token, map[string]any{"content_types": contentTypes}), 201)
	if r.Get("max_bytes") != float64(uploads.MaxBytes) {
		a.T.Fatalf("max_bytes %s", r.Raw)
	}
	ups, err := apiclient.Uploads(r)
	if err != nil || len(ups) != len(contentTypes) {
		a.T.Fatalf("uploads %v: %s", err, r.Raw)
	}
	return ups
}

// post uploads file with a form's fields as wx.uploadFile does and
// returns S3's status and body.
func post(t testing.TB, up apiclient.Upload, formData []apiclient.Field, file []byte) (int, string) {
	t.Helper()
	status, body, err := apiclient.UploadFile(context.Background(), nil, up, formData, file)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// uploadPhotos signs forms for the files (JPEG or PNG by their first
// bytes) on route and uploads them as the mini program does; it returns
// their keys.
func uploadPhotos(a *testenv.API, route, token string, files ...[]byte) []string {
	a.T.Helper()
	types := make([]string, len(files))
	for i, f := range files {
		types[i] = http.DetectContentType(f)
	}
	var keys []string
	for i, up := range forms(a, route, token, types...) {
		if status, body := post(a.T, up, up.FormData, files[i]); status != http.StatusNoContent {
			a.T.Fatalf("POST to the upload form: %d %s", status, body)
		}
		keys = append(keys, up.Key)
	}
	return keys
}

// jpegs is n JPEG photos.
func jpegs(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = jpegPhoto
	}
	return out
}

// fetch GETs a photo link as an <image> does and returns the photo.
func fetch(t testing.TB, link string) []byte {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", link, resp.StatusCode, body)
	}
	return body
}

// mustShow fails t unless views (a photo_views list) links exactly the
// keys, in order, each to its file and for uploads.ViewExpiry.
func mustShow(t testing.TB, views any, keys []string, files ...[]byte) {
	t.Helper()
	list, _ := views.([]any)
	if len(list) != len(keys) {
		t.Fatalf("photo_views %v, want %d", views, len(keys))
	}
	for i, v := range list {
		view := v.(map[string]any)
		expires, err := time.Parse(time.RFC3339, view["expires_at"].(string))
		if view["key"] != keys[i] || err != nil || time.Until(expires) > uploads.ViewExpiry {
			t.Fatalf("view %d: %v, want %s for %v", i, view, keys[i], uploads.ViewExpiry)
		}
		if got := fetch(t, view["url"].(string)); !bytes.Equal(got, files[i]) {
			t.Fatalf("photo %s: %q", keys[i], got)
		}
	}
}

func TestAMiniProgramUploadsPhotosWithTheFormsAndItsOrderShowsThem(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-photo")
	a.MustError(a.Do("POST", portalUploads, session, map[string]any{"content_type": "image/gif", "count": 1}), 400, "invalid_field")
	a.MustError(a.Do("POST", portalUploads, session, map[string]any{"content_type": "image/jpeg", "count": 10}), 400, "invalid_field")
	a.Must(a.Do("POST", portalUploads, "", map[string]any{"content_type": "image/jpeg", "count": 1}), 401)

	ups := forms(a, portalUploads, session, "image/jpeg", "image/png")
	for i, up := range ups {
		if up.Name != "file" || up.ContentType != []string{"image/jpeg", "image/png"}[i] || !strings.HasPrefix(up.Key, "uploads/acme/") {
			t.Fatalf("form %+v", up)
		}
	}
	files := [][]byte{jpegPhoto, pngPhoto}
	for i, up := range ups {
		if status, body := post(t, up, up.FormData, files[i]); status != http.StatusNoContent {
			t.Fatalf("upload: %d %s", status, body)
		}
		if tags := a.ObjectTags(t, up.Key); !maps.Equal(tags, map[string]string{"attached": "false"}) {
			t.Fatalf("tags of a new upload %v", tags)
		}
	}
	keys := []string{ups[0].Key, ups[1].Key}
	body := order(31.2, 121.4, "")
	body["photos"] = keys
	id := a.Must(a.Do("POST", "/portal/work-orders", session, body), 201).Str("work_order", "id")
	for _, key := range keys {
		if tags := a.ObjectTags(t, key); !maps.Equal(tags, map[string]string{"attached": "true"}) {
			t.Fatalf("tags of %s after the order %v", key, tags)
		}
	}
	detail := a.Must(a.Do("GET", "/portal/work-orders/"+id, session, nil), 200)
	mustShow(t, detail.Get("photo_views"), keys, files...)
	if photos := detail.List("photos"); len(photos) != 2 || photos[0] != keys[0] {
		t.Fatalf("photos %s", detail.Raw)
	}
}

func TestS3RefusesAnUploadTooLargeOrNotOfItsForm(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-refused")
	ups := forms(a, portalUploads, session, "image/jpeg", "image/jpeg", "image/jpeg")
	with := func(up apiclient.Upload, name, value string) []apiclient.Field {
		out := []apiclient.Field{}
		for _, f := range up.FormData {
			if f.Name == name {
				if value == "" {
					continue
				}
				f.Value = value
			}
			out = append(out, f)
		}
		return out
	}
	cases := []struct {
		name     string
		up       apiclient.Upload
		formData []apiclient.Field
		file     []byte
		status   int
		code     string
	}{
		{"a file over max_bytes", ups[0], ups[0].FormData, bytes.Repeat([]byte{0xFF}, uploads.MaxBytes+1), http.StatusBadRequest, "EntityTooLarge"},
		{"a text file declared as text", ups[1], with(ups[1], "Content-Type", "text/plain"), textFile, http.StatusForbidden, "AccessDenied"},
		{"without the unattached tag", ups[2], with(ups[2], "tagging", ""), jpegPhoto, http.StatusForbidden, "AccessDenied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, c.up, c.formData, c.file)
			if status != c.status || !strings.Contains(body, "<Code>"+c.code+"</Code>") {
				t.Fatalf("%d %s, want %d %s", status, body, c.status, c.code)
			}
			if _, err := a.S3.HeadObject(testenv.UploadBucket, c.up.Key); err == nil {
				t.Fatalf("%s stored", c.up.Key)
			}
		})
	}
}

func TestAnOrderWithAPhotoNeverUploadedNotAnImageOrTooLargeIsRefused(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-noupload")
	ups := forms(a, portalUploads, session, "image/jpeg", "image/jpeg", "image/jpeg", "image/jpeg")
	for _, i := range []int{0, 2} {
		file := jpegPhoto
		if i == 2 {
			file = textFile // S3 takes any bytes of the declared type
		}
		if status, body := post(t, ups[i], ups[i].FormData, file); status != http.StatusNoContent {
			t.Fatalf("upload: %d %s", status, body)
		}
	}
	// A photo larger than any form allows, put by someone with the bucket's keys.
	_, err := a.S3Client(t).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testenv.UploadBucket),
		Key: aws.String(ups[3].Key), ContentType: aws.String("image/jpeg"),
		Body: bytes.NewReader(append(slices.Clone(jpegPhoto), make([]byte, uploads.MaxBytes)...))})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		photos []string
		status int
		code   string
		key    string
	}{
		{"never uploaded", []string{ups[0].Key, ups[1].Key}, http.StatusUnprocessableEntity, "photo_not_uploaded", ups[1].Key},
		{"a text file uploaded as a JPEG", []string{ups[0].Key, ups[2].Key}, http.StatusUnprocessableEntity, "photo_not_an_image", ups[2].Key},
		{"over max_bytes", []string{ups[3].Key}, http.StatusRequestEntityTooLarge, "photo_too_large", ups[3].Key},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := order(31.2, 121.4, "")
			body["photos"] = c.photos
			refused := a.MustError(a.Do("POST", "/portal/work-orders", session, body), c.status, c.code)
			if refused.Str("error", "details", "key") != c.key {
				t.Fatalf("refusal %s", refused.Raw)
			}
		})
	}
	if list := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200).List("work_orders"); len(list) != 0 {
		t.Fatalf("an order was written with a refused photo: %v", list)
	}
	if tags := a.ObjectTags(t, ups[0].Key); tags["attached"] != "false" {
		t.Fatalf("a refused order attached its photo: %v", tags)
	}
}

func TestANewOrderTagsItsPhotosAttachedAndAReplayOrADuplicateReadsNone(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-attach")
	keys := uploadPhotos(a, portalUploads, session, jpegs(9)...)
	body := order(31.2, 121.4, "AC-PHOTO-1")
	body["photos"] = keys
	a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "photos-0001"), 201)
	for _, key := range keys {
		if tags := a.ObjectTags(t, key); !maps.Equal(tags, map[string]string{"attached": "true"}) {
			t.Fatalf("tags of %s after the order %v", key, tags)
		}
	}
	again := uploadPhotos(a, portalUploads, session, jpegPhoto)

	// S3 reads failing: a replay and a duplicate are answered all the
	// same, neither reading nor tagging a photo.
	a.S3Server().InjectError("GetObject", "ServiceUnavailable", 1000)
	a.S3Server().InjectError("PutObjectTagging", "ServiceUnavailable", 1000)
	a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "photos-0001"), 200)
	body["photos"] = again
	if dup := a.Must(a.Do("POST", "/portal/work-orders", session, body), 200); dup.Body["duplicate"] != true {
		t.Fatalf("duplicate %s", dup.Raw)
	}
	a.S3Server().ClearErrors()
	if tags := a.ObjectTags(t, again[0]); tags["attached"] != "false" {
		t.Fatalf("tags of a duplicate's photo %v", tags)
	}
}

func TestAnOrderIsNotWrittenWhileItsPhotosCannotBeCheckedOrTaggedAndARetryWritesIt(t *testing.T) {
	for _, op := range []string{"GetObject", "PutObjectTagging"} {
		t.Run(op, func(t *testing.T) {
			a := newAPI(t)
			session := photoUser(a, "openid-s3down")
			keys := uploadPhotos(a, portalUploads, session, jpegs(3)...)
			body := order(31.2, 121.4, "")
			body["photos"] = keys

			a.S3Server().InjectError(op, "ServiceUnavailable", 1000)
			failed := a.MustError(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "s3down-001"), 503,
				"photo_storage_unavailable")
			if failed.Header.Get("Retry-After") == "" {
				t.Fatalf("no Retry-After on %s", failed.Raw)
			}
			if list := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200).List("work_orders"); len(list) != 0 {
				t.Fatalf("an order was written without its photos attached: %v", list)
			}
			a.S3Server().ClearErrors()
			for _, key := range keys {
				if tags := a.ObjectTags(t, key); tags["attached"] != "false" {
					t.Fatalf("tags of %s %v", key, tags)
				}
			}
			a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "s3down-001"), 201)
			for _, key := range keys {
				if tags := a.ObjectTags(t, key); tags["attached"] != "true" {
					t.Fatalf("tags of %s after the retry %v", key, tags)
				}
			}
		})
	}
}

func TestAnOrdersPhotosAreShownToItsOwnerItsEngineerAndTheAdminsOnly(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-owner")
	other := photoUser(a, "openid-other")
	keys := uploadPhotos(a, portalUploads, session, jpegPhoto, pngPhoto)
	body := order(31.2304, 121.4737, "")
	body["photos"] = keys
	id := a.Must(a.Do("POST", "/portal/work-orders", session, body), 201).Str("work_order", "id")
	engineer, colleague := a.Staff("acme", "eng-7", staffauth.RoleEngineer), a.Staff("acme", "eng-8", staffauth.RoleEngineer)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)

	// Offered: the engineers see how many photos, not the photos.
	offered := a.Must(a.Do("GET", "/engineer/work-orders/"+id, engineer, nil), 200)
	if offered.Get("photo_count") != 2.0 || offered.Get("photos") != nil || offered.Get("photo_views") != nil {
		t.Fatalf("offered %s", offered.Raw)
	}
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", engineer, nil), 200)

	files := [][]byte{jpegPhoto, pngPhoto}
	for name, path := range map[string][2]string{
		"owner":    {"/portal/work-orders/" + id, session},
		"assignee": {"/engineer/work-orders/" + id, engineer},
		"admin":    {"/admin/work-orders/" + id, admin},
	} {
		detail := a.Must(a.Do("GET", path[0], path[1], nil), 200)
		if detail.Str("id") != id || detail.Str("phone") == "" {
			t.Fatalf("%s: %s", name, detail.Raw)
		}
		mustShow(t, detail.Get("photo_views"), keys, files...)
	}
	for name, path := range map[string][2]string{
		"another user":           {"/portal/work-orders/" + id, other},
		"another engineer":       {"/engineer/work-orders/" + id, colleague},
		"another tenant's admin": {"/admin/work-orders/" + id, a.Staff("globex", "admin-1", staffauth.RoleAdmin)},
		"no such order":          {"/admin/work-orders/260101000000000000", admin},
		"not an order id":        {"/admin/work-orders/..%2f..%2fsettings", admin},
	} {
		if r := a.Do("GET", path[0], path[1], nil); r.Status != 404 || strings.Contains(r.Raw, "photo") {
			t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	a.MustError(a.Do("GET", "/admin/work-orders/"+id, engineer, nil), 403, "forbidden_role")
	a.Must(a.Do("GET", "/admin/work-orders/"+id, "", nil), 401)
}

// onSite is an order of a new user of acme with a photo, accepted by the
// engineer eng-7 and on the way: everything a visit needs.
type onSite struct {
	a                 *testenv.API
	session, engineer string
	id                string
	lat, lng          float64
	customerPhotos    []string
	// The engineer's routes of the order.
	visitPhotos, checkOut string
}

func newOnSite(t *testing.T) *onSite {
	a := newAPI(t)
	s := &onSite{a: a, session: photoUser(a, "openid-site"), engineer: a.Staff("acme", "eng-7", staffauth.RoleEngineer),
		lat: 31.2304, lng: 121.4737}
	s.customerPhotos = uploadPhotos(a, portalUploads, s.session, jpegPhoto)
	body := order(s.lat, s.lng, "")
	body["photos"] = s.customerPhotos
	s.id = a.Must(a.Do("POST", "/portal/work-orders", s.session, body), 201).Str("work_order", "id")
	s.visitPhotos, s.checkOut = "/engineer/work-orders/"+s.id+"/visit-photos", "/engineer/work-orders/"+s.id+"/check-out"
	a.Must(a.Do("POST", "/engineer/work-orders/"+s.id+"/accept", s.engineer, nil), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+s.id+"/status", s.engineer, map[string]any{"status": "en_route"}), 200)
	return s
}

func (s *onSite) checkIn() {
	s.a.Must(s.a.Do("POST", "/engineer/work-orders/"+s.id+"/check-in", s.engineer, map[string]any{"latitude": s.lat, "longitude": s.lng}), 201)
}

func TestAnEngineersPhotosAndTheSignatureGoOnTheOpenVisitAndTheOrder(t *testing.T) {
	s := newOnSite(t)
	a := s.a
	before := uploadPhotos(a, engineerUploads, s.engineer, jpegPhoto, pngPhoto)
	after := uploadPhotos(a, engineerUploads, s.engineer, jpegPhoto)
	signature := uploadPhotos(a, engineerUploads, s.engineer, pngPhoto)[0]
	for _, key := range append(append(before, after...), signature) {
		if !strings.HasPrefix(key, "uploads/acme/eng-eng-7/") {
			t.Fatalf("engineer's key %s", key)
		}
	}
	a.MustError(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": before}), 409, "not_checked_in")
	s.checkIn()

	req := map[string]any{"before": before, "signature": signature}
	first := a.Must(a.Do("POST", s.visitPhotos, s.engineer, req), 200)
	mustShow(t, first.Get("photo_views", "before"), before, jpegPhoto, pngPhoto)
	mustShow(t, []any{first.Get("photo_views", "signature")}, []string{signature}, pngPhoto)
	retried := a.Must(a.Do("POST", s.visitPhotos, s.engineer, req), 200) // a retry changes nothing
	if len(retried.List("before_photos")) != 2 || retried.Str("signature") != signature || retried.Str("id") != first.Str("id") {
		t.Fatalf("retry %s", retried.Raw)
	}
	for _, key := range append(before, signature) {
		if tags := a.ObjectTags(t, key); tags["attached"] != "true" {
			t.Fatalf("tags of %s %v", key, tags)
		}
	}

	// The photos after the work come with the check-out.
	out := a.Must(a.Do("POST", s.checkOut, s.engineer, map[string]any{"latitude": s.lat, "longitude": s.lng, "after": after}), 200)
	if out.Get("check_out_at") == nil || len(out.List("before_photos")) != 2 {
		t.Fatalf("check-out %s", out.Raw)
	}
	mustShow(t, out.Get("photo_views", "after"), after, jpegPhoto)
	a.MustError(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"after": uploadPhotos(a, engineerUploads, s.engineer, jpegPhoto)}),
		409, "not_checked_in")

	// The order shows its visit's photos to its owner and the admins.
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	for _, viewer := range [][2]string{{"/portal/work-orders/", s.session}, {"/admin/work-orders/", admin}, {"/engineer/work-orders/", s.engineer}} {
		detail := a.Must(a.Do("GET", viewer[0]+s.id, viewer[1], nil), 200)
		visits := detail.List("visit_photos")
		if len(visits) != 1 {
			t.Fatalf("%s: %s", viewer[0], detail.Raw)
		}
		visit := visits[0].(map[string]any)
		if visit["visit_id"] != out.Str("id") || visit["engineer_id"] != "eng-7" || visit["signature"] != signature {
			t.Fatalf("%s: visit %v", viewer[0], visit)
		}
		views := visit["photo_views"].(map[string]any)
		mustShow(t, views["before"], before, jpegPhoto, pngPhoto)
		mustShow(t, views["after"], after, jpegPhoto)
		mustShow(t, []any{views["signature"]}, []string{signature}, pngPhoto)
		mustShow(t, detail.Get("photo_views"), s.customerPhotos, jpegPhoto)
	}
}

func TestVisitPhotosMustBeTheEngineersOwnVerifiedAndWithinTheLimits(t *testing.T) {
	s := newOnSite(t)
	a := s.a
	s.checkIn()
	mine := append(uploadPhotos(a, engineerUploads, s.engineer, jpegs(9)...), uploadPhotos(a, engineerUploads, s.engineer, jpegPhoto)...)
	colleague := a.Staff("acme", "eng-8", staffauth.RoleEngineer)
	theirs := uploadPhotos(a, engineerUploads, colleague, jpegPhoto)
	ups := forms(a, engineerUploads, s.engineer, "image/png", "image/jpeg")
	text, never := ups[0], ups[1]
	if status, body := post(t, text, text.FormData, textFile); status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", status, body)
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"nothing", map[string]any{}, 400, "no_photos"},
		{"the customer's upload", map[string]any{"before": s.customerPhotos}, 400, "invalid_field"},
		{"another engineer's upload", map[string]any{"after": theirs}, 400, "invalid_field"},
		{"a key outside the uploads", map[string]any{"signature": "uploads/acme/eng-eng-7/../../x.png"}, 400, "invalid_field"},
		{"a photo twice", map[string]any{"before": mine[:1], "after": mine[:1]}, 400, "invalid_field"},
		{"ten photos before", map[string]any{"before": mine}, 400, "invalid_field"},
		{"a text file as the signature", map[string]any{"signature": text.Key}, 422, "photo_not_an_image"},
		{"a photo never uploaded", map[string]any{"after": []string{never.Key}}, 422, "photo_not_uploaded"},
		{"an unknown field", map[string]any{"during": mine[:1]}, 400, "unknown_field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.MustError(a.Do("POST", s.visitPhotos, s.engineer, c.body), c.status, c.code)
		})
	}
	// The lists fill up to 9 across requests; the signature is given once.
	a.Must(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": mine[:5], "signature": mine[9]}), 200)
	a.MustError(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": mine[4:9], "after": mine[:1]}), 400, "invalid_field")
	full := a.MustError(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": append(mine[5:9], uploadPhotos(a, engineerUploads, s.engineer, jpegPhoto)...)}),
		422, "too_many_photos")
	if full.Get("error", "details", "max") != 9.0 {
		t.Fatalf("refusal %s", full.Raw)
	}
	a.Must(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": mine[5:9]}), 200)
	a.MustError(a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"signature": mine[8]}), 409, "signature_recorded")
	a.MustError(a.Do("POST", "/engineer/work-orders/"+s.id+"/visit-photos", colleague, map[string]any{"before": theirs}), 409, "not_checked_in")
	a.MustError(a.Do("POST", s.checkOut, s.engineer, map[string]any{"latitude": s.lat, "longitude": s.lng, "after": theirs}), 400, "invalid_field")
	a.Must(a.Do("POST", s.checkOut, s.engineer, map[string]any{"latitude": s.lat, "longitude": s.lng}), 200) // the refusal wrote nothing
}

func TestEachUploaderGetsTwentyFormsPerWindow(t *testing.T) {
	a := newAPI(t)
	session := photoUser(a, "openid-slots")
	engineer := a.Staff("acme", "eng-7", staffauth.RoleEngineer)
	nine := map[string]any{"content_type": "image/jpeg", "count": 9}
	a.Must(a.Do("POST", portalUploads, session, nine), 201)
	a.Must(a.Do("POST", portalUploads, session, nine), 201)
	refused := a.MustError(a.Do("POST", portalUploads, session, nine), 429, "too_many_uploads")
	if refused.Header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After: %s", refused.Raw)
	}
	a.Must(a.Do("POST", portalUploads, session, map[string]any{"content_type": "image/jpeg", "count": uploads.MaxSlots - 18}), 201)
	a.MustError(a.Do("POST", portalUploads, session, map[string]any{"content_type": "image/png", "count": 1}), 429, "too_many_uploads")
	a.Must(a.Do("POST", engineerUploads, engineer, nine), 201) // everyone has their own
	a.Must(a.Do("POST", portalUploads, photoUser(a, "openid-slots-2"), nine), 201)
	a.Clock.Advance(uploads.SlotWindow)
	a.Must(a.Do("POST", portalUploads, session, nine), 201)
	a.Must(a.Do("POST", engineerUploads, session, nine), 401)
}

func TestConcurrentPhotoRequestsOfOneVisitLoseNoPhoto(t *testing.T) {
	s := newOnSite(t)
	a := s.a
	s.checkIn()
	keys := uploadPhotos(a, engineerUploads, s.engineer, jpegs(6)...)
	replies := make([]testenv.Reply, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() { replies[i] = a.Do("POST", s.visitPhotos, s.engineer, map[string]any{"before": []string{key}}) })
	}
	wg.Wait()
	var kept []string
	for i, r := range replies {
		switch {
		case r.Status == 200:
			kept = append(kept, keys[i])
		case r.Status != 409 || (r.ErrorCode() != "visit_changed" && r.ErrorCode() != "transaction_conflict"):
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
	// What the visit holds is exactly what was answered 200, in the order
	// and with the copy on the order alike.
	out := a.Must(a.Do("POST", s.checkOut, s.engineer, map[string]any{"latitude": s.lat, "longitude": s.lng}), 200)
	held := out.List("before_photos")
	copied := a.Must(a.Do("GET", "/portal/work-orders/"+s.id, s.session, nil), 200).List("visit_photos")
	if len(kept) == 0 || len(held) != len(kept) || len(copied) != 1 {
		t.Fatalf("kept %v, the visit holds %v, the order %v", kept, held, copied)
	}
	for _, key := range held {
		if !slices.Contains(kept, key.(string)) {
			t.Fatalf("the visit holds %s, refused", key)
		}
	}
	if fmt.Sprint(copied[0].(map[string]any)["before_photos"]) != fmt.Sprint(held) {
		t.Fatalf("the order's copy %v, the visit %v", copied[0], held)
	}
}
