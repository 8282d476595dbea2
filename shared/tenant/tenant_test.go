package tenant_test

import (
	"context"
	"errors"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

func TestSettingsDefaultsAndOptimisticWrites(t *testing.T) {
	env := testenv.New(t)
	s := tenant.NewStore(env.DB)
	ctx := context.Background()
	st, err := s.Settings(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !st.GuestAccess || st.MaxCheckinDistanceM != tenant.DefaultMaxCheckinDistanceM || st.Version != 0 {
		t.Fatalf("defaults %+v", st)
	}
	st.InvitationCodes = true
	saved, err := s.PutSettings(ctx, "acme", st)
	if err != nil || saved.Version != 1 {
		t.Fatalf("save %+v %v", saved, err)
	}
	// A second admin editing the same version loses instead of overwriting.
	stale := st
	stale.GuestAccess = false
	if _, err := s.PutSettings(ctx, "acme", stale); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale write: %v", err)
	}
	got, _ := s.Settings(ctx, "acme")
	if !got.InvitationCodes || !got.GuestAccess || got.Version != 1 {
		t.Fatalf("stored %+v", got)
	}
	// Other tenants are untouched.
	other, _ := s.Settings(ctx, "globex")
	if other.InvitationCodes {
		t.Fatalf("settings leaked across tenants: %+v", other)
	}
	bad := got
	bad.MaxCheckinDistanceM = 5
	if _, err := s.PutSettings(ctx, "acme", bad); err == nil {
		t.Fatal("an out-of-range distance was saved")
	}
	for _, id := range []string{"", "a b", "tenant#1", string(make([]byte, 41))} {
		if tenant.ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
}

func TestFieldWorkSettingsDefaultAndValidate(t *testing.T) {
	env := testenv.New(t)
	s := tenant.NewStore(env.DB)
	ctx := context.Background()
	want := tenant.FieldWork{TimeZone: "Asia/Shanghai", MaxCheckoutDistanceM: 1000, MaxCheckinsPerDay: 20, AutoCheckoutHours: 12}
	if st, _ := s.Settings(ctx, "acme"); st.FieldWork != want || st.Location().String() != "Asia/Shanghai" {
		t.Fatalf("defaults %+v", st.FieldWork)
	}
	// Settings saved before the field-work fields existed, with the old
	// 50 km radius, read with today's defaults and limit.
	old := map[string]any{"pk": "tenant#globex", "sk": "settings", "guest_access": true, "max_checkin_distance_m": 50000, "version": 3}
	if err := env.DB.Service.Put(old).Run(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := s.Settings(ctx, "globex")
	if err != nil || st.FieldWork != want || st.MaxCheckinDistanceM != tenant.MaxCheckinDistanceLimitM || st.Version != 3 {
		t.Fatalf("old settings read as %+v, %v", st, err)
	}
	// An admin saving without the new fields gets the defaults.
	saved, err := s.PutSettings(ctx, "acme", tenant.Settings{MaxCheckinDistanceM: 300})
	if err != nil || saved.FieldWork != want {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	good := saved
	good.FieldWork = tenant.FieldWork{TimeZone: "Europe/Berlin", MaxCheckoutDistanceM: 5000, MaxCheckinsPerDay: 8, AutoCheckoutHours: 72,
		MileageRateFenPerKm: 120}
	if saved, err = s.PutSettings(ctx, "acme", good); err != nil || saved.Location().String() != "Europe/Berlin" {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	for name, change := range map[string]func(*tenant.Settings){
		"check-in radius over 2 km": func(s *tenant.Settings) { s.MaxCheckinDistanceM = 2001 },
		"unknown zone":              func(s *tenant.Settings) { s.TimeZone = "Asia/Atlantis" },
		"the server's zone":         func(s *tenant.Settings) { s.TimeZone = "Local" },
		"a path":                    func(s *tenant.Settings) { s.TimeZone = "../../etc/passwd" },
		"an absolute path":          func(s *tenant.Settings) { s.TimeZone = "/etc/localtime" },
		"check-out distance":        func(s *tenant.Settings) { s.MaxCheckoutDistanceM = 20001 },
		"check-ins per day":         func(s *tenant.Settings) { s.MaxCheckinsPerDay = 101 },
		"auto-checkout hours":       func(s *tenant.Settings) { s.AutoCheckoutHours = 73 },
		"negative rate":             func(s *tenant.Settings) { s.MileageRateFenPerKm = -1 },
		"rate over 100 CNY/km":      func(s *tenant.Settings) { s.MileageRateFenPerKm = 10001 },
	} {
		bad := saved
		change(&bad)
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, bad.FieldWork)
		}
	}
}
