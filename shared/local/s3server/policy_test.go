package s3server

import (
	"encoding/base64"
	"testing"
	"time"
)

// FuzzPostPolicy: any policy document is refused or checked, never a panic.
func FuzzPostPolicy(f *testing.F) {
	f.Add(`{"expiration":"2026-11-26T12:00:00.000Z","conditions":[{"bucket":"photos"},["starts-with","$key","uploads/"],` +
		`["content-length-range",1,10485760],["eq","$Content-Type","image/jpeg"]]}`)
	f.Add(`{"expiration":"2026-11-26T12:00:00Z","conditions":[["content-length-range","1","x"],{"a":1}]}`)
	f.Add(`{"conditions":[]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, apiErr := parsePolicy(base64.StdEncoding.EncodeToString([]byte(doc)))
		if apiErr != nil {
			return
		}
		form := &postForm{fields: map[string]string{"key": "uploads/a.jpg", "content-type": "image/jpeg"}, names: []string{"key", "content-type"}}
		_ = p.check(form, "photos", time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC))
		if lo, hi := p.sizeRange(); lo < 0 || hi > maxPostObject {
			t.Fatalf("size range %d..%d", lo, hi)
		}
	})
}
