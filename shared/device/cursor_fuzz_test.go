package device

import "testing"

// FuzzDecodeCursor: a cursor from a client is refused or names exactly the
// key attributes of its list, inside the list it was bound to; what it
// accepts encodes back to a cursor it accepts again.
func FuzzDecodeCursor(f *testing.F) {
	bound := listPK("acme")
	f.Add(encodeCursor(nil))
	f.Add("e30")
	f.Add("eyJwayI6IngiLCJzayI6InkiLCJnc2kxcGsiOiJ0ZW5hbnQjYWNtZSNkZXZpY2VzIiwiZ3NpMXNrIjoiQUMtMDAwMSJ9")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeCursor(s, "gsi1pk", bound, "pk", "sk", "gsi1pk", "gsi1sk")
		if err != nil || k == nil {
			return
		}
		if len(k) != 4 || k["gsi1pk"] == nil {
			t.Fatalf("accepted %q as %v", s, k)
		}
		if _, err := decodeCursor(encodeCursor(k), "gsi1pk", bound, "pk", "sk", "gsi1pk", "gsi1sk"); err != nil {
			t.Fatalf("%q decoded, but its re-encoding is refused: %v", s, err)
		}
	})
}
