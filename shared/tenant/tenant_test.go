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
