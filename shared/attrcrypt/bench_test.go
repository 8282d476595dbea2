package attrcrypt_test

import (
	"context"
	"testing"

	"wxchannel/shared/attrcrypt"
)

// BenchmarkSealOpen seals and opens one 136-byte value (the length of an
// authorizer access token) with the local key, and with a KMS data key the
// instance already holds (the stand-in is called once, before the timer).
func BenchmarkSealOpen(b *testing.B) {
	current, _ := key(1)
	value := string(make([]byte, 136))
	for _, bc := range []struct {
		name   string
		sealer func(b *testing.B) *attrcrypt.Sealer
	}{
		{"local key", func(*testing.B) *attrcrypt.Sealer { return localSealer(map[string]string{keySecret: current}) }},
		{"KMS data key", func(b *testing.B) *attrcrypt.Sealer {
			w := newKMSWorld(b)
			return w.instance(w.arn)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s := bc.sealer(b)
			if _, err := s.Seal(ctx, value, token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				sealed, err := s.Seal(ctx, value, token)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Open(ctx, sealed, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
