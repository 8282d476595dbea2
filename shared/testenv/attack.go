package testenv

import "strings"

// Respell changes the unused low bits in the last character of an
// unpadded base64url string (a MAC or a JWT signature of 32 bytes): a
// lenient decoder reads the same bytes from both spellings, a strict one
// refuses the new one. Attack tests use it to show that a signed value
// has exactly one accepted spelling.
func Respell(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	if i < 0 {
		return s
	}
	return s[:len(s)-1] + string(alphabet[i^1])
}
