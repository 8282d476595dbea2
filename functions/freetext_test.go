package functions_test

import (
	"strings"
	"testing"
)

// TestFreeTextIsStoredCleaned: free text is stored as it is shown,
// normalised to NFC, trimmed, with CRLF line breaks as LF where text has
// lines, and its length is counted in characters of that text (a
// decomposed "é" is one character, not two).
func TestFreeTextIsStoredCleaned(t *testing.T) {
	w := newFaultWorld(t, nil)
	user := w.login("openid-text")

	body := faultOrder("AC-TXT-1")
	body["description"] = " " + strings.Repeat("e\u0301", 990) + "\r\nend\u3000"
	body["contact_name"] = " Li Lei\t"
	body["address"] = "  88 Century Avenue \n"
	id := w.must("POST", "/portal/work-orders", user, body, nil, 201)["work_order"].(map[string]any)["id"].(string)
	stored := w.must("GET", "/portal/work-orders/"+id, user, nil, nil, 200)
	if stored["description"] != strings.Repeat("é", 990)+"\nend" || stored["contact_name"] != "Li Lei" || stored["address"] != "88 Century Avenue" {
		t.Fatalf("stored %q, %q, %q", stored["description"], stored["contact_name"], stored["address"])
	}

	order := "/engineer/work-orders/" + id
	w.must("POST", order+"/accept", w.engineer, nil, nil, 200)
	w.must("POST", order+"/status", w.engineer, map[string]any{"status": "en_route", "note": "  On my way\r\nten minutes "}, nil, 200)
	w.must("POST", order+"/status", w.engineer, map[string]any{"status": "in_progress"}, nil, 200)
	w.must("POST", order+"/status", w.engineer, map[string]any{"status": "completed"}, nil, 200)
	w.must("POST", "/portal/work-orders/"+id+"/rating", user, map[string]any{"stars": 5, "comment": "Quick and tidy\r\nMerci\u0301 "}, nil, 200)
	stored = w.must("GET", "/portal/work-orders/"+id, user, nil, nil, 200)
	timeline := stored["timeline"].([]any)
	if note := timeline[2].(map[string]any)["note"]; note != "On my way\nten minutes" || stored["comment"] != "Quick and tidy\nMercí" {
		t.Fatalf("note %q, comment %q", note, stored["comment"])
	}

	w.must("PUT", "/admin/portal/settings", w.admin, map[string]any{"display_name": " Acme Cafe\u0301 ", "location_reason": " To find your pump\t",
		"guest_access": true, "serial_registration": true, "max_checkin_distance_m": 500, "version": 0}, nil, 200)
	settings := w.must("GET", "/admin/portal/settings", w.admin, nil, nil, 200)
	if settings["display_name"] != "Acme Café" || settings["location_reason"] != "To find your pump" {
		t.Fatalf("settings %q, %q", settings["display_name"], settings["location_reason"])
	}

	w.must("POST", "/portal/registration/device", user, map[string]any{"device_sn": "AC-TXT-2", "latitude": 31.2, "longitude": 121.4,
		"address": "\t1 Lujiazui Ring Road  "}, nil, 202)
	pending := w.must("GET", "/admin/registrations", w.admin, nil, nil, 200)["pending"].([]any)
	if address := pending[0].(map[string]any)["address"]; address != "1 Lujiazui Ring Road" {
		t.Fatalf("registration address %q", address)
	}
}
