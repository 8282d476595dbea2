package workorder_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/workorder"
)

// FuzzCreateRequest runs a work order body through what the handler does
// before any storage: decoding with the route's limit, then validation.
// Either it is refused with a 4xx naming the problem, or every field is
// within its documented bounds.
func FuzzCreateRequest(f *testing.F) {
	f.Add([]byte(`{"category":"repair","description":"The compressor makes a grinding noise","device_sn":"AC-2024-0001","contact_name":"Li Lei","phone":"13800138000","address":"88 Century Avenue","latitude":31.2304,"longitude":121.4737}`))
	f.Add([]byte(`{"category":"repair","description":"     x","contact_name":" ","phone":"13800138000","address":"88 Century Avenue","latitude":91,"longitude":0}`))
	f.Add([]byte(`{"category":"repair","description":"<script>alert(1)</script>","device_sn":"' OR 1=1 --","contact_name":"Li","phone":"13800138000","address":"../../etc/passwd","latitude":0,"longitude":0}`))
	f.Add([]byte(`{"category":"repair","description":"broken fan","contact_name":"Li","phone":"13800138000","address":"1 Road","latitude":31,"longitude":121,"photos":["uploads/acme/u1/abcdefgh.jpg","uploads/../x.jpg"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/portal/work-orders", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req workorder.CreateRequest
		err := httpapi.DecodeJSON(r, &req, 16<<10)
		if err == nil {
			err = req.Validate()
		}
		if err != nil {
			var he *apperr.Error
			if !errors.As(err, &he) || httpapi.Status(he.Kind) < 400 || httpapi.Status(he.Kind) >= 500 || he.Code == "" || he.Message == "" {
				t.Fatalf("refusal %v is not a 4xx envelope", err)
			}
			return
		}
		n := utf8.RuneCountInString
		switch {
		case !contains(workorder.Categories, req.Category):
			t.Fatalf("category %q accepted", req.Category)
		case n(strings.TrimSpace(req.Description)) < 5 || n(req.Description) > 1000:
			t.Fatalf("description of %d characters accepted", n(req.Description))
		case req.Latitude < -90 || req.Latitude > 90 || req.Longitude < -180 || req.Longitude > 180:
			t.Fatalf("location %v,%v accepted", req.Latitude, req.Longitude)
		case len(req.Phone) != 11 || strings.Trim(req.Phone, "0123456789") != "":
			t.Fatalf("phone %q accepted", req.Phone)
		case strings.ContainsAny(req.DeviceSN, "'\"<>/\\ ;"):
			t.Fatalf("serial %q accepted", req.DeviceSN)
		case len(req.Photos) > 9:
			t.Fatalf("%d photos accepted", len(req.Photos))
		}
		for _, p := range req.Photos {
			if strings.Contains(p, "..") || !strings.HasPrefix(p, "uploads/") {
				t.Fatalf("photo key %q accepted", p)
			}
		}
	})
}

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}
