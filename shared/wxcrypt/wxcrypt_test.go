package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func mustNew(t testing.TB, token, key, appID, previousKey string) *Crypter {
	t.Helper()
	c, err := New(token, key, appID, previousKey)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// encryptRaw CBC-encrypts plain (a multiple of 16 bytes) under encodingAESKey
// without adding anything, so tests can hand Decrypt any plaintext layout.
func encryptRaw(t testing.TB, encodingAESKey string, plain []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// layout builds random || uint32be(length) || msg || receiveID || padding,
// the receiveID being vector A's appid.
func layout(length uint32, msg string, padding []byte) []byte {
	plain := []byte("0123456789abcdef")
	plain = binary.BigEndian.AppendUint32(plain, length)
	plain = append(plain, msg...)
	plain = append(plain, vectorAAppID...)
	return append(plain, padding...)
}

// padTo32 returns the PKCS#7 padding WeChat would add after n bytes.
func padTo32(n int) []byte {
	pad := 32 - n%32
	return bytes.Repeat([]byte{byte(pad)}, pad)
}

func TestVectorA(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")

	t.Run("decrypt gives the exact plaintext", func(t *testing.T) {
		got, err := c.Decrypt(vectorAEncrypt)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if string(got) != vectorAPlaintext {
			t.Errorf("Decrypt = %q, want %q", got, vectorAPlaintext)
		}
		if len(got) != 280 {
			t.Errorf("len = %d, want 280", len(got))
		}
	})
	t.Run("msg_signature matches", func(t *testing.T) {
		if got := c.MsgSignature(vectorATimestamp, vectorANonce, vectorAEncrypt); got != vectorAMsgSignature {
			t.Errorf("MsgSignature = %s, want %s", got, vectorAMsgSignature)
		}
	})
	t.Run("URL signature matches", func(t *testing.T) {
		if got := c.URLSignature(vectorATimestamp, vectorANonce); got != vectorAURLSignature {
			t.Errorf("URLSignature = %s, want %s", got, vectorAURLSignature)
		}
	})
	t.Run("re-encrypting with the same random is byte-identical", func(t *testing.T) {
		got, err := c.EncryptWithRandom([]byte(vectorARandom), []byte(vectorAPlaintext))
		if err != nil {
			t.Fatalf("EncryptWithRandom: %v", err)
		}
		if got != vectorAEncrypt {
			t.Errorf("EncryptWithRandom = %s, want %s", got, vectorAEncrypt)
		}
	})
	t.Run("Open verifies both signatures and decrypts", func(t *testing.T) {
		p := PushParams{
			Signature:    vectorAURLSignature,
			Timestamp:    vectorATimestamp,
			Nonce:        vectorANonce,
			EncryptType:  "aes",
			MsgSignature: vectorAMsgSignature,
		}
		got, err := c.Open(p, []byte(vectorABody))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != vectorAPlaintext {
			t.Errorf("Open = %q, want %q", got, vectorAPlaintext)
		}
	})
}

func TestVectorB(t *testing.T) {
	c := mustNew(t, vectorBToken, vectorKey, vectorBAppID, "")
	tests := []struct {
		name    string
		msg     string
		encrypt string
	}{
		{"B1 short UTF-8 text", vectorB1Msg, vectorB1Encrypt},
		{"B2 video reply XML", vectorB2Msg, vectorB2Encrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.EncryptWithRandom([]byte(vectorBRandom), []byte(tt.msg))
			if err != nil {
				t.Fatalf("EncryptWithRandom: %v", err)
			}
			if got != tt.encrypt {
				t.Errorf("EncryptWithRandom = %s, want %s", got, tt.encrypt)
			}
			plain, err := c.Decrypt(tt.encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(plain) != tt.msg {
				t.Errorf("Decrypt = %q, want %q", plain, tt.msg)
			}
		})
	}
}

func TestDecryptRejects(t *testing.T) {
	const msg = "<xml>hi</xml>"
	valid := layout(uint32(len(msg)), msg, nil)
	raw := func(plain []byte) string { return encryptRaw(t, vectorKey, plain) }
	validCiphertext, _ := base64.StdEncoding.DecodeString(vectorAEncrypt)

	tests := []struct {
		name      string
		appID     string // defaults to vectorAAppID
		encrypted string
		want      error
	}{
		{"receiveId of another appid", "wx0000000000000000", vectorAEncrypt, ErrAppID},
		{"receiveId is a prefix of the appid", vectorAAppID + "x", vectorAEncrypt, ErrAppID},
		{"empty receiveId", "", raw(append(layout(uint32(len(msg)+len(vectorAAppID)), msg, nil), padTo32(len(valid))...)), ErrAppID},
		{"pad byte 0", "", raw(append(valid, bytes.Repeat([]byte{0}, 32-len(valid)%32)...)), ErrMalformed},
		{"pad byte 33", "", raw(append(valid, append(bytes.Repeat([]byte{33}, 32-len(valid)%32+15), 33)...)), ErrMalformed},
		{"pad byte 255", "", raw(append(valid, bytes.Repeat([]byte{255}, 32-len(valid)%32)...)), ErrMalformed},
		{"pad bytes disagree", "", raw(append(valid, append(bytes.Repeat([]byte{7}, 32-len(valid)%32-1), 2)...)), ErrMalformed},
		{"padding longer than the plaintext", "", raw(bytes.Repeat([]byte{32}, 16)), ErrMalformed},
		{"too short for random and length", "", raw(append([]byte("0123456789abcdef0"), bytes.Repeat([]byte{15}, 15)...)), ErrMalformed},
		{"length field one past the data", "", raw(append(layout(uint32(len(msg)+len(vectorAAppID)+1), msg, nil), padTo32(len(valid))...)), ErrMalformed},
		{"length field 0xFFFFFFFF", "", raw(append(layout(0xFFFFFFFF, msg, nil), padTo32(len(valid))...)), ErrMalformed},
		{"ciphertext not a multiple of 16", "", base64.StdEncoding.EncodeToString(validCiphertext[:len(validCiphertext)-1]), ErrMalformed},
		{"ciphertext truncated by a block", "", base64.StdEncoding.EncodeToString(validCiphertext[:len(validCiphertext)-16]), ErrMalformed},
		{"base64 truncated", "", vectorAEncrypt[:len(vectorAEncrypt)-3], ErrMalformed},
		{"empty", "", "", ErrMalformed},
		{"not base64", "", "not base64!", ErrMalformed},
		{"base64 of nothing useful", "", "AAAA", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			appID := tt.appID
			if appID == "" {
				appID = vectorAAppID
			}
			c := mustNew(t, vectorAToken, vectorKey, appID, "")
			got, err := c.Decrypt(tt.encrypted)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Decrypt returned %q alongside an error", got)
			}
		})
	}
}

func TestDecryptAcceptsFullBlockPadding(t *testing.T) {
	// With a 16-char appid, 20 header bytes and a 28-byte message fill exactly
	// 64 bytes, so PKCS#7 with K=32 appends a whole block of 32s.
	c := mustNew(t, vectorAToken, vectorKey, "wx0123456789abcd", "")
	msg := strings.Repeat("m", 64-16-4-len(c.AppID()))
	enc, err := c.EncryptWithRandom([]byte(vectorARandom), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(enc)
	if len(ct) != 96 {
		t.Fatalf("ciphertext is %d bytes, want 96 (64 + a full pad block)", len(ct))
	}
	got, err := c.Decrypt(enc)
	if err != nil || string(got) != msg {
		t.Fatalf("Decrypt = %q, %v; want %q", got, err, msg)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name        string
		token       string
		key         string
		appID       string
		previousKey string
		wantKeyErr  bool
		wantErr     bool
	}{
		{"valid key without previous", "t", vectorKey, "wx1", "", false, false},
		{"valid key with previous", "t", rotatedKey, "wx1", vectorKey, false, false},
		{"key of 42 chars", "t", vectorKey[:42], "wx1", "", true, true},
		{"key of 44 chars", "t", vectorKey + "=", "wx1", "", true, true},
		{"empty key", "t", "", "wx1", "", true, true},
		{"key with a non-base64 char", "t", "!" + vectorKey[1:], "wx1", "", true, true},
		{"key with a newline", "t", "\n" + vectorKey[1:], "wx1", "", true, true},
		{"bad previous key", "t", vectorKey, "wx1", "short", true, true},
		{"empty token", "", vectorKey, "wx1", "", false, true},
		{"empty appid", "t", vectorKey, "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.token, tt.key, tt.appID, tt.previousKey)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrKey) != tt.wantKeyErr {
				t.Errorf("New error = %v, want ErrKey %v", err, tt.wantKeyErr)
			}
			if err == nil && c.AppID() != tt.appID {
				t.Errorf("AppID = %q, want %q", c.AppID(), tt.appID)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	const msg = "<xml><InfoType>component_verify_ticket</InfoType></xml>"
	old := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	encryptedWithOld, err := old.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	otherApp := mustNew(t, vectorAToken, vectorKey, "wxffffffffffffffff", "")
	otherAppWithOld, err := otherApp.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}

	rotated := mustNew(t, vectorAToken, rotatedKey, vectorAAppID, vectorKey)
	encryptedWithNew, err := rotated.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		crypter   *Crypter
		encrypted string
		want      error
	}{
		{"old key message with previous key configured", rotated, encryptedWithOld, nil},
		{"new key message with previous key configured", rotated, encryptedWithNew, nil},
		{"old key message without previous key", mustNew(t, vectorAToken, rotatedKey, vectorAAppID, ""), encryptedWithOld, ErrMalformed},
		{"new key message before the rotation", old, encryptedWithNew, ErrMalformed},
		{"old key message for another appid reports the appid", rotated, otherAppWithOld, ErrAppID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.crypter.Decrypt(tt.encrypted)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.want)
			}
			if err == nil && string(got) != msg {
				t.Errorf("Decrypt = %q, want %q", got, msg)
			}
		})
	}
}

func TestEncryptWithRandomRejectsWrongRandomLength(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	for _, n := range []int{0, 15, 17} {
		if _, err := c.EncryptWithRandom(make([]byte, n), []byte("x")); err == nil {
			t.Errorf("EncryptWithRandom with %d random bytes succeeded", n)
		}
	}
}

func TestEncryptIsRandomised(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	a, err := c.Encrypt([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encrypt([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two encryptions of the same message are identical")
	}
}

func TestSignature(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"vector A URL signature", []string{vectorAToken, vectorATimestamp, vectorANonce}, vectorAURLSignature},
		{"vector A URL signature in another order", []string{vectorANonce, vectorAToken, vectorATimestamp}, vectorAURLSignature},
		{"vector A msg_signature", []string{vectorAEncrypt, vectorAToken, vectorATimestamp, vectorANonce}, vectorAMsgSignature},
		{"no parts is sha1 of nothing", nil, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"more than four parts", []string{"e", "d", "c", "b", "a"}, "03de6c570bfe24bfc328ccd7ca46b76eadaf4334"}, // sha1("abcde")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]string(nil), tt.parts...)
			if got := Signature(tt.parts...); got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
			for i := range before {
				if before[i] != tt.parts[i] {
					t.Fatalf("Signature reordered its argument: %q", tt.parts)
				}
			}
		})
	}
}
