package wxcrypt

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
)

// Signature returns hex(sha1(concat(sorted(parts)))), the scheme behind both
// the URL signature and msg_signature.
func Signature(parts ...string) string {
	var small [4]string // URL and msg signatures have 3 and 4 parts
	sorted := append(small[:0], parts...)
	slices.Sort(sorted)
	total := 0
	for _, p := range sorted {
		total += len(p)
	}
	// One buffer and sha1.Sum keep the common URL signature allocation-free
	// apart from the returned string.
	var stack [128]byte
	concat := stack[:0]
	if total > len(stack) {
		concat = make([]byte, 0, total)
	}
	for _, p := range sorted {
		concat = append(concat, p...)
	}
	sum := sha1.Sum(concat)
	var digest [2 * sha1.Size]byte
	hex.Encode(digest[:], sum[:])
	return string(digest[:])
}

// URLSignature returns the signature query parameter of a push.
func (c *Crypter) URLSignature(timestamp, nonce string) string {
	return Signature(c.token, timestamp, nonce)
}

// MsgSignature returns the msg_signature query parameter of a push whose
// Encrypt value is encrypted.
func (c *Crypter) MsgSignature(timestamp, nonce, encrypted string) string {
	return Signature(c.token, timestamp, nonce, encrypted)
}
