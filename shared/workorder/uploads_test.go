package workorder_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

func TestPhotosUploadWithPresignedURLs(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	session := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-photo"), 200).Str("session_token")

	a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/gif", "count": 1}), 400)
	a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/jpeg", "count": 10}), 400)
	a.Must(a.Do("POST", "/portal/uploads", "", map[string]any{"content_type": "image/jpeg", "count": 1}), 401)
	r := a.Must(a.Do("POST", "/portal/uploads", session, map[string]any{"content_type": "image/jpeg", "count": 2}), 201)
	ups := r.Body["uploads"].([]any)
	if len(ups) != 2 {
		t.Fatalf("uploads %s", r.Raw)
	}
	var keys []string
	for _, u := range ups {
		up := u.(map[string]any)
		req, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader([]byte("\xff\xd8\xff photo bytes")))
		for k, v := range up["headers"].(map[string]any) {
			req.Header.Set(k, v.(string))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT to the presigned URL: %d", resp.StatusCode)
		}
		key := up["key"].(string)
		if !strings.HasPrefix(key, "uploads/acme/") {
			t.Fatalf("key %s outside the tenant's prefix", key)
		}
		if _, err := a.S3.HeadObject(testenv.UploadBucket, key); err != nil {
			t.Fatalf("uploaded object missing: %v", err)
		}
		keys = append(keys, key)
	}
	body := order(31.2, 121.4, "")
	body["photos"] = keys
	id := a.Must(a.Do("POST", "/portal/work-orders", session, body), 201).Str("work_order", "id")
	detail := a.Must(a.Do("GET", "/portal/work-orders/"+id, session, nil), 200)
	if photos := detail.Body["photos"].([]any); len(photos) != 2 || photos[0] != keys[0] {
		t.Fatalf("photos %s", detail.Raw)
	}
}
