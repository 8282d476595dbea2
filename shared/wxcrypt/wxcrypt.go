// Package wxcrypt is WeChat's message crypto (WXBizMsgCrypt): it verifies,
// decrypts and seals the signed, AES-encrypted pushes of the Open Platform.
package wxcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var (
	// ErrSignature reports a signature or msg_signature mismatch.
	ErrSignature = errors.New("wxcrypt: signature mismatch")
	// ErrAppID reports a message whose receiveId is not the expected appid.
	ErrAppID = errors.New("wxcrypt: receiveId does not match appid")
	// ErrMalformed reports input that cannot be a valid encrypted message:
	// not base64, wrong length, bad padding, bad length field or bad XML.
	ErrMalformed = errors.New("wxcrypt: malformed message")
	// ErrKey reports an EncodingAESKey that is not 43 base64 characters.
	ErrKey = errors.New("wxcrypt: invalid EncodingAESKey")
)

const (
	encodingAESKeyLen = 43
	randomLen         = 16
	lengthFieldLen    = 4
	// padBlock is WeChat's PKCS#7 block size: 32, not the AES block size.
	padBlock = 32
)

// Crypter holds the platform Token, the current EncodingAESKey (and
// optionally the previous one, tried when decryption with the current one
// fails), and the appid used as receiveId. It is safe for concurrent use.
type Crypter struct {
	token string
	// previousToken, when set, also verifies signatures: WeChat signs with
	// the new Token as soon as the operator changes it in WeChat's console.
	previousToken string
	appID         string
	current       aesKey
	previous      *aesKey
}

type aesKey struct {
	block cipher.Block
	iv    []byte
}

// New returns a Crypter. previousEncodingAESKey may be empty; when set, it is
// tried after the current key fails, so pushes encrypted just before a key
// rotation still decrypt.
func New(token, encodingAESKey, appID string, previousEncodingAESKey string) (*Crypter, error) {
	// An empty token would make every signature computable by anyone, and an
	// empty appid would accept messages without a receiveId.
	if token == "" {
		return nil, errors.New("wxcrypt: empty token")
	}
	if appID == "" {
		return nil, errors.New("wxcrypt: empty appid")
	}
	current, err := parseKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	c := &Crypter{token: token, appID: appID, current: current}
	if previousEncodingAESKey != "" {
		previous, err := parseKey(previousEncodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("previous key: %w", err)
		}
		c.previous = &previous
	}
	return c, nil
}

// WithPreviousToken returns a copy of c whose signature checks also accept
// the previous message Token, during a rotation ("" accepts none).
func (c *Crypter) WithPreviousToken(token string) *Crypter {
	cp := *c
	cp.previousToken = token
	return &cp
}

func parseKey(encodingAESKey string) (aesKey, error) {
	if len(encodingAESKey) != encodingAESKeyLen {
		return aesKey{}, ErrKey
	}
	// Lenient (non-strict) decoding on purpose: the 43rd character carries two
	// unused bits that WeChat's keys (and the official vectors) leave non-zero.
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return aesKey{}, ErrKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return aesKey{}, ErrKey
	}
	return aesKey{block: block, iv: key[:aes.BlockSize]}, nil
}

// AppID returns the appid expected as receiveId.
func (c *Crypter) AppID() string { return c.appID }

// Encrypt encrypts msg with a random prefix from crypto/rand and returns the
// base64 Encrypt value.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	random := make([]byte, randomLen)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("wxcrypt: random: %w", err)
	}
	return c.EncryptWithRandom(random, msg)
}

// EncryptWithRandom is Encrypt with a caller-chosen 16-byte random prefix,
// which makes the output deterministic (for test vectors).
func (c *Crypter) EncryptWithRandom(random []byte, msg []byte) (string, error) {
	if len(random) != randomLen {
		return "", fmt.Errorf("wxcrypt: random must be %d bytes, got %d", randomLen, len(random))
	}
	if uint64(len(msg)) > math.MaxUint32 {
		return "", errors.New("wxcrypt: message too long")
	}
	unpadded := randomLen + lengthFieldLen + len(msg) + len(c.appID)
	pad := padBlock - unpadded%padBlock
	plain := make([]byte, 0, unpadded+pad)
	plain = append(plain, random...)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, c.appID...)
	for range pad {
		plain = append(plain, byte(pad))
	}
	cipher.NewCBCEncrypter(c.current.block, c.current.iv).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// Decrypt decrypts a base64 Encrypt value, checks that its receiveId is the
// appid, and returns the message. If the current key fails and a previous key
// is configured, the previous key is tried.
func (c *Crypter) Decrypt(encrypted string) ([]byte, error) {
	ciphertext, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, ErrMalformed
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrMalformed
	}
	plain := make([]byte, len(ciphertext))
	msg, err := c.decryptWith(c.current, ciphertext, plain)
	if err == nil || c.previous == nil {
		return msg, err
	}
	msg, prevErr := c.decryptWith(*c.previous, ciphertext, plain)
	if prevErr == nil {
		return msg, nil
	}
	// A wrong key almost always surfaces as ErrMalformed, so an ErrAppID from
	// either key is the more telling answer.
	if errors.Is(prevErr, ErrAppID) {
		return nil, prevErr
	}
	return nil, err
}

// decryptWith decrypts ciphertext into plain (same length) and parses
// random || uint32be(len) || msg || receiveId || padding.
func (c *Crypter) decryptWith(key aesKey, ciphertext, plain []byte) ([]byte, error) {
	cipher.NewCBCDecrypter(key.block, key.iv).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > padBlock || pad > len(plain) {
		return nil, ErrMalformed
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, ErrMalformed
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < randomLen+lengthFieldLen {
		return nil, ErrMalformed
	}
	body := plain[randomLen+lengthFieldLen:]
	msgLen := uint64(binary.BigEndian.Uint32(plain[randomLen:]))
	if msgLen > uint64(len(body)) {
		return nil, ErrMalformed
	}
	msg, receiveID := body[:msgLen:msgLen], body[msgLen:]
	if subtle.ConstantTimeCompare(receiveID, []byte(c.appID)) != 1 {
		return nil, ErrAppID
	}
	return msg, nil
}
