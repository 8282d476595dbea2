package kmsserver

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// KMS's error types, as the SDK decodes them into kms/types errors.
const (
	codeNotFound          = "NotFoundException"
	codeInvalidCiphertext = "InvalidCiphertextException"
	codeIncorrectKey      = "IncorrectKeyException"
	codeDisabled          = "DisabledException"
	codeValidation        = "ValidationException"
	codeSerialization     = "SerializationException"
	codeUnknownOperation  = "UnknownOperationException"
	codeInternal          = "KMSInternalException"
)

const (
	targetPrefix = "TrentService."
	contentType  = "application/x-amz-json-1.1"
	// symmetricDefault is the only encryption algorithm of a symmetric key.
	symmetricDefault = "SYMMETRIC_DEFAULT"
)

// apiError is an error answer: KMS's error type and a message.
type apiError struct{ code, message string }

func (e *apiError) Error() string { return e.code + ": " + e.message }

func fail(code, message string) *apiError { return &apiError{code: code, message: message} }

var requestSeq atomic.Int64

// serve answers one AWS JSON 1.1 request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, fail(codeUnknownOperation, "expected a POST with X-Amz-Target TrentService.<operation>"))
		return
	}
	s.mu.Lock()
	s.calls[op]++
	injected := s.takeFailureLocked(op)
	s.mu.Unlock()
	if injected != nil {
		writeError(w, injected)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, fail(codeSerialization, "unreadable request body"))
		return
	}
	var out any
	var apiErr *apiError
	switch op {
	case "GenerateDataKey":
		out, apiErr = s.generateDataKey(body)
	case "Decrypt":
		out, apiErr = s.decrypt(body)
	default:
		apiErr = fail(codeUnknownOperation, "the stand-in does not serve "+op)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", requestID())
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) takeFailureLocked(op string) *apiError {
	f := s.failures[op]
	if f == nil || f.left == 0 {
		return nil
	}
	f.left--
	return fail(f.code, "injected by the test")
}

func writeError(w http.ResponseWriter, e *apiError) {
	status := http.StatusBadRequest
	if e.code == codeInternal {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
}

func requestID() string { return "kms-" + strconv.FormatInt(requestSeq.Add(1), 10) }

// generateDataKeyRequest and the types below are KMS's JSON shapes; binary
// fields travel as base64, which encoding/json does for []byte.
type generateDataKeyRequest struct {
	KeyID             string            `json:"KeyId"`
	KeySpec           string            `json:"KeySpec"`
	NumberOfBytes     int               `json:"NumberOfBytes"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
}

type generateDataKeyResponse struct {
	CiphertextBlob []byte `json:"CiphertextBlob"`
	Plaintext      []byte `json:"Plaintext"`
	KeyID          string `json:"KeyId"`
}

type decryptRequest struct {
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	KeyID               string            `json:"KeyId"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
}

type decryptResponse struct {
	Plaintext           []byte `json:"Plaintext"`
	KeyID               string `json:"KeyId"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
}

func (s *Server) generateDataKey(body []byte) (any, *apiError) {
	var in generateDataKeyRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fail(codeSerialization, "the request is not KMS's JSON")
	}
	size, apiErr := dataKeySize(in.KeySpec, in.NumberOfBytes)
	if apiErr != nil {
		return nil, apiErr
	}
	if in.KeyID == "" {
		return nil, fail(codeValidation, "KeyId is required")
	}
	s.mu.Lock()
	k, ok := s.resolveLocked(in.KeyID)
	if !ok {
		s.mu.Unlock()
		return nil, fail(codeNotFound, "Key '"+in.KeyID+"' does not exist")
	}
	disabled, version, material := k.disabled, len(k.materials)-1, k.materials[len(k.materials)-1]
	s.mu.Unlock()
	if disabled {
		return nil, fail(codeDisabled, keyARN(k.id)+" is disabled.")
	}
	plaintext := make([]byte, size)
	if _, err := rand.Read(plaintext); err != nil {
		return nil, fail(codeInternal, "no randomness")
	}
	blob, err := wrap(k.id, uint32(version), material, plaintext, in.EncryptionContext)
	if err != nil {
		return nil, fail(codeInternal, "wrapping the data key failed")
	}
	return generateDataKeyResponse{CiphertextBlob: blob, Plaintext: plaintext, KeyID: keyARN(k.id)}, nil
}

func dataKeySize(spec string, n int) (int, *apiError) {
	switch {
	case spec != "" && n != 0:
		return 0, fail(codeValidation, "Please specify either number of bytes or key spec.")
	case spec == "AES_256":
		return 32, nil
	case spec == "AES_128":
		return 16, nil
	case spec != "":
		return 0, fail(codeValidation, "1 validation error detected: Value '"+spec+"' at 'keySpec' failed to satisfy constraint")
	case n < 1 || n > 1024:
		return 0, fail(codeValidation, "Please specify either number of bytes (1 to 1024) or key spec.")
	}
	return n, nil
}

func (s *Server) decrypt(body []byte) (any, *apiError) {
	var in decryptRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fail(codeSerialization, "the request is not KMS's JSON")
	}
	if in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != symmetricDefault {
		return nil, fail(codeInvalidCiphertext, "")
	}
	keyID, version, rest, ok := parseBlob(in.CiphertextBlob)
	if !ok {
		return nil, fail(codeInvalidCiphertext, "")
	}
	s.mu.Lock()
	k, known := s.keys[keyID]
	var named *key
	namedOK := true
	if in.KeyID != "" {
		named, namedOK = s.resolveLocked(in.KeyID)
	}
	var material []byte
	disabled := false
	if known {
		disabled = k.disabled
		if int(version) < len(k.materials) {
			material = k.materials[version]
		}
	}
	s.mu.Unlock()
	switch {
	case !known:
		return nil, fail(codeNotFound, "the key of the ciphertext does not exist")
	case !namedOK:
		return nil, fail(codeNotFound, "Key '"+in.KeyID+"' does not exist")
	case named != nil && named != k:
		return nil, fail(codeIncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
	case disabled:
		return nil, fail(codeDisabled, keyARN(k.id)+" is disabled.")
	case material == nil:
		return nil, fail(codeInvalidCiphertext, "")
	}
	plaintext, err := unwrap(material, rest, in.EncryptionContext)
	if err != nil {
		// KMS answers a wrong encryption context exactly as a corrupt blob.
		return nil, fail(codeInvalidCiphertext, "")
	}
	return decryptResponse{Plaintext: plaintext, KeyID: keyARN(k.id), EncryptionAlgorithm: symmetricDefault}, nil
}

// The stand-in's ciphertext blob: a format byte, the key id (length
// prefixed), the material version, then the data key sealed with AES-GCM
// under that material, the encryption context as additional data. Real
// KMS blobs are opaque too; only this server reads these.
const blobFormat = 1

func wrap(keyID string, version uint32, material, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	aead, err := gcm(material)
	if err != nil {
		return nil, err
	}
	blob := []byte{blobFormat, byte(len(keyID))}
	blob = append(blob, keyID...)
	blob = binary.BigEndian.AppendUint32(blob, version)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	blob = append(blob, nonce...)
	return aead.Seal(blob, nonce, plaintext, contextAAD(encCtx)), nil
}

func parseBlob(blob []byte) (keyID string, version uint32, rest []byte, ok bool) {
	if len(blob) < 2 || blob[0] != blobFormat {
		return "", 0, nil, false
	}
	n := int(blob[1])
	if len(blob) < 2+n+4 {
		return "", 0, nil, false
	}
	return string(blob[2 : 2+n]), binary.BigEndian.Uint32(blob[2+n:]), blob[2+n+4:], true
}

func unwrap(material, rest []byte, encCtx map[string]string) ([]byte, error) {
	aead, err := gcm(material)
	if err != nil {
		return nil, err
	}
	if len(rest) < aead.NonceSize() {
		return nil, errors.New("short blob")
	}
	return aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], contextAAD(encCtx))
}

func gcm(material []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(material)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// contextAAD encodes an encryption context canonically: JSON sorts a map's
// keys, and an absent context equals an empty one, as in KMS.
func contextAAD(encCtx map[string]string) []byte {
	if len(encCtx) == 0 {
		return nil
	}
	b, _ := json.Marshal(encCtx)
	return b
}
