package qrscene_test

import (
	"context"
	"errors"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/qrscene"
)

// FuzzSceneDecode: a QR scene opens a portal only if we issued exactly
// that scene; anything else is ErrInvalid (a 400 to the caller), without
// a storage read unless its MAC verifies.
func FuzzSceneDecode(f *testing.F) {
	env := testenv.New(f)
	s := qrscene.FromDeps(env.Deps)
	ctx := context.Background()
	issued := map[string]string{}
	for _, sn := range []string{"", "AC-2024-0001"} {
		sc, err := s.Encode(ctx, "acme", sn)
		if err != nil {
			f.Fatal(err)
		}
		if len(sc) > 32 {
			f.Fatalf("scene %q longer than WeChat's 32 characters", sc)
		}
		issued[sc] = sn
		f.Add(sc)
		f.Add(sc[:len(sc)-1] + "A")
		f.Add(sc + ".")
	}
	f.Add("")
	f.Add("aaaaaaaaaa.bbbbbbbbbbb")
	f.Add("../../etc/pa.sswd000000")
	f.Fuzz(func(t *testing.T, scene string) {
		sc, err := s.Decode(ctx, scene)
		if err != nil {
			if !errors.Is(err, qrscene.ErrInvalid) {
				t.Fatalf("Decode(%q) = %v, want ErrInvalid", scene, err)
			}
			return
		}
		sn, ok := issued[scene]
		if !ok || sc.TenantID != "acme" || sc.DeviceSN != sn {
			t.Fatalf("Decode(%q) accepted %+v", scene, sc)
		}
	})
}
