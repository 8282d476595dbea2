// Package apispec serves the product's OpenAPI 3.1 document, the contract
// the mini program, the engineers' app and the CRM build against. The
// document is generated from the route table in shared/apispec/contract
// (go generate, or make the same call by hand) and embedded here, so the
// function serving it links nothing but the bytes.
package apispec

//go:generate go run wxchannel/cmd/openapi -root ../..

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// Path is where the document is served.
const Path = "/openapi.json"

// document is docs/openapi.json; cmd/openapi writes both copies, and a test
// fails when either differs from what the route table produces.
//
//go:embed openapi.json
var document []byte

// Document returns the embedded OpenAPI document.
func Document() []byte { return append([]byte(nil), document...) }

// etag names this build's document: it changes only with a deployment.
var etag = func() string {
	sum := sha256.Sum256(document)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// NewHandler builds the function serving GET /openapi.json.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET "+Path, serveDocument)
	return rt, nil
}

// serveDocument answers with the embedded document. It may be cached for
// an hour and revalidated by its ETag: it changes only with a deployment,
// and code generators and API consoles fetch it often.
func serveDocument(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// The document is public: API consoles on other origins may read it.
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(document)
	return nil
}
