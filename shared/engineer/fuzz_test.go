package engineer_test

import (
	"slices"
	"testing"
	"unicode/utf8"

	"wxchannel/shared/apperr"
	"wxchannel/shared/engineer"
)

// FuzzPutRequestValidate: any request is either refused with an invalid
// field or left as it is stored, within every bound, and validating that
// again changes nothing.
func FuzzPutRequestValidate(f *testing.F) {
	f.Add("eng-1", " Wang Lei ", "13812345678", "repair", "inspection", 0)
	f.Add("", "A", "", "", "", 1)
	f.Add("a\x01", "\u200b", "1381234567x", "Repair", "repair", -1)
	f.Fuzz(func(t *testing.T, id, name, phone, skill1, skill2 string, version int) {
		req := engineer.PutRequest{ID: id, DisplayName: name, Phone: phone, Skills: []string{skill1, skill2}, Version: version}
		if err := req.Validate(func(s string) bool { return slices.Contains(categories, s) }); err != nil {
			if !apperr.Is(err, "invalid_field") {
				t.Fatalf("refused with %v, want invalid_field", err)
			}
			return
		}
		if !engineer.ValidID(req.ID) || req.Version < 0 || !utf8.ValidString(req.DisplayName) {
			t.Fatalf("accepted %+v", req)
		}
		if n := utf8.RuneCountInString(req.DisplayName); n < 1 || n > 40 {
			t.Fatalf("accepted a display name of %d characters", n)
		}
		if req.Phone != "" && len(req.Phone) != 11 {
			t.Fatalf("accepted phone %q", req.Phone)
		}
		if !slices.IsSorted(req.Skills) || len(slices.Compact(slices.Clone(req.Skills))) != len(req.Skills) {
			t.Fatalf("skills %v not sorted without duplicates", req.Skills)
		}
		again := req
		again.Skills = slices.Clone(req.Skills)
		if err := again.Validate(nil); err != nil || again.DisplayName != req.DisplayName || !slices.Equal(again.Skills, req.Skills) {
			t.Fatalf("validating the stored form again: %+v %v", again, err)
		}
	})
}
