package workorder_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/workorder"
)

var legIDPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{19}\.[0-9]{6}[0-9a-f]{12}$`)

// FuzzCorrectionRequest runs an admin's leg correction through what the
// handler does before any storage: decoding with the route's limit, then
// validation. Either it is refused with a 4xx naming the problem, or every
// field is within its documented bounds.
func FuzzCorrectionRequest(f *testing.F) {
	f.Add([]byte(`{"engineer_id":"eng-1","leg_id":"2026-11-25.1764032400000000000.261124000000000001","km":10,"reason":"Road closed, detour"}`))
	f.Add([]byte(`{"engineer_id":"=HYPERLINK(\"x\")","leg_id":"2026-02-30.1764032400000000000.261124000000000001","km":1e309,"reason":"x"}`))
	f.Add([]byte(`{"engineer_id":"eng\u0000","leg_id":"../..","km":-0,"reason":"\u202eevil reason"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/admin/mileage/corrections", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req workorder.CorrectionRequest
		err := httpapi.DecodeJSON(r, &req, 4<<10)
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
		case req.EngineerID == "" || len(req.EngineerID) > workorder.MaxEngineerIDLen ||
			strings.ContainsFunc(req.EngineerID, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			t.Fatalf("engineer id %q accepted", req.EngineerID)
		case !legIDPattern.MatchString(req.LegID):
			t.Fatalf("leg id %q accepted", req.LegID)
		case req.Km == nil || *req.Km < 0 || *req.Km > workorder.MaxCorrectedKm:
			t.Fatalf("km %v accepted", req.Km)
		case n(strings.TrimSpace(req.Reason)) < 5 || n(req.Reason) > 500:
			t.Fatalf("reason of %d characters accepted", n(req.Reason))
		}
	})
}
