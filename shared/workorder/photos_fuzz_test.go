package workorder

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/uploads"
)

// FuzzVisitPhotosRequest runs an engineer's visit photos through what the
// service does before S3 and storage: decoding with the route's limit,
// validation for the engineer, then the merge with what the visit holds.
// Either it is refused with a 4xx naming the problem, or the visit's
// photos after it are the engineer's own, each once, within the limits,
// with what it held first, and the new keys are exactly those added.
func FuzzVisitPhotosRequest(f *testing.F) {
	const a, b, c = "uploads/acme/eng-eng-7/aaaaaaaaaaaaaaaaaaaaaaaa.jpg", "uploads/acme/eng-eng-7/bbbbbbbbbbbbbbbbbbbbbbbb.png",
		"uploads/acme/eng-eng-7/cccccccccccccccccccccccc.jpg"
	f.Add([]byte(`{"before":["` + a + `"],"after":["` + c + `"],"signature":"` + b + `"}`))
	f.Add([]byte(`{"before":["` + b + `","` + b + `"]}`))
	f.Add([]byte(`{"after":["uploads/acme/eng-eng-7/../u1/aaaaaaaaaaaa.jpg","uploads/acme/u1/aaaaaaaaaaaa.jpg"],"signature":"` + a + `"}`))
	f.Add([]byte(`{"before":["` + c + `"],"signature":"` + c + `"}`))
	owner := uploads.Engineer("acme", "eng-7")
	held := VisitPhotos{Before: []string{a}, Signature: b}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/engineer/work-orders/x/visit-photos", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req VisitPhotosRequest
		err := httpapi.DecodeJSON(r, &req, visitPhotosBodyLimit)
		if err == nil {
			err = req.validate(owner)
		}
		var merged VisitPhotos
		var fresh []string
		if err == nil {
			merged, fresh, err = held.merge(req)
		}
		if err != nil {
			var he *apperr.Error
			if !errors.As(err, &he) || httpapi.Status(he.Kind) < 400 || httpapi.Status(he.Kind) >= 500 || he.Code == "" || he.Message == "" {
				t.Fatalf("refusal %v is not a 4xx envelope", err)
			}
			return
		}
		all := append(append(slices.Clone(merged.Before), merged.After...), merged.Signature)
		seen := map[string]bool{}
		for _, key := range all {
			if !owner.Owns(key) || seen[key] {
				t.Fatalf("key %q kept (owned %v, twice %v): %+v", key, owner.Owns(key), seen[key], merged)
			}
			seen[key] = true
		}
		switch {
		case len(merged.Before) > MaxVisitPhotos || len(merged.After) > MaxVisitPhotos:
			t.Fatalf("%d before, %d after kept", len(merged.Before), len(merged.After))
		case merged.Before[0] != a || merged.Signature != b:
			t.Fatalf("what the visit held changed: %+v", merged)
		case len(all) != 2+len(fresh):
			t.Fatalf("%d keys kept from 2 held and %d new: %+v %v", len(all), len(fresh), merged, fresh)
		}
		for _, key := range fresh {
			if key == a || key == b {
				t.Fatalf("a held key %q is new", key)
			}
		}
	})
}
