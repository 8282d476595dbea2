package apispec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"wxchannel/functions"
	"wxchannel/shared/apispec"
	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/testenv"
)

// mountWithDocument is the product with the document's function beside
// it, built as its Lambda would be.
func mountWithDocument(ctx context.Context, d *app.Deps) (http.Handler, lambdarun.Workers, error) {
	product, workers, err := functions.Mount(ctx, d)
	if err != nil {
		return nil, workers, err
	}
	h, patterns, err := lambdarun.Handler(ctx, "apispec", apispec.NewHandler, d)
	if err != nil {
		return nil, workers, err
	}
	mux := httpapi.NewRouter(d.Log)
	for _, p := range patterns {
		mux.HandleHTTP(p, h)
	}
	mux.HandleHTTP("/", product)
	return mux, workers, nil
}

// TestTheDocumentIsServedCacheableAndRevalidated: GET /openapi.json is the
// embedded document, cacheable, and a client holding it gets a 304.
func TestTheDocumentIsServedCacheableAndRevalidated(t *testing.T) {
	a := testenv.Setup(t, mountWithDocument)
	r := a.Must(a.Do("GET", apispec.Path, "", nil), http.StatusOK)
	if !bytes.Equal([]byte(r.Raw), apispec.Document()) {
		t.Fatalf("served %d bytes, not the embedded document", len(r.Raw))
	}
	if !json.Valid([]byte(r.Raw)) || r.Str("openapi") != "3.1.0" {
		t.Fatalf("not an OpenAPI 3.1 document: %.200s", r.Raw)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Fatalf("Cache-Control %q", cc)
	}
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := a.Do("GET", apispec.Path, "", nil, "If-None-Match", etag)
	if again.Status != http.StatusNotModified || again.Raw != "" {
		t.Fatalf("revalidation: %d with %d bytes", again.Status, len(again.Raw))
	}
	a.Must(a.Do("GET", apispec.Path, "", nil, "If-None-Match", `"stale"`), http.StatusOK)
}

// TestTheConsolesFilesAreHeldToTheContract: the page and the files it
// links go through the contract check like every API call (the files'
// route spans segments, which the document marks).
func TestTheConsolesFilesAreHeldToTheContract(t *testing.T) {
	a := testenv.Setup(t, functions.Mount)
	page := a.Must(a.Do("GET", "/console/", "", nil), http.StatusOK)
	links := regexp.MustCompile(`(?:href|src)="(assets/[^"]+)"`).FindAllStringSubmatch(page.Raw, -1)
	if len(links) == 0 {
		t.Fatalf("the page links no files: %.300s", page.Raw)
	}
	for _, l := range links {
		a.Must(a.Do("GET", "/console/"+l[1], "", nil), http.StatusOK)
	}
	a.MustError(a.Do("GET", "/console/assets/none/missing.js", "", nil), http.StatusNotFound, "route_not_found")
}
