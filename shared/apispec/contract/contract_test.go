package contract_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"wxchannel/functions"
	"wxchannel/shared/apispec"
	"wxchannel/shared/apispec/contract"
	"wxchannel/shared/app"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/testenv"
)

// servedRoutes is every "METHOD /path" some function serves, as its Lambda
// builds it, with the function's name, plus the document's own route
// (apispec's handler) until a function serves it; every function's health
// route is the one templated entry.
func servedRoutes(t *testing.T, d *app.Deps) map[string]string {
	t.Helper()
	out := map[string]string{}
	add := func(name string, patterns []string) {
		for _, p := range patterns {
			method, path, _ := strings.Cut(p, " ")
			if strings.HasPrefix(path, "/health/") {
				path = contract.HealthPath
			}
			if _, dup := out[method+" "+path]; !dup || path == contract.HealthPath {
				out[method+" "+path] = name
			}
		}
	}
	for _, f := range functions.All {
		if f.HTTP == nil {
			continue
		}
		_, patterns, err := lambdarun.Handler(context.Background(), f.Name, f.HTTP, d)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		add(f.Name, patterns)
	}
	rt, err := apispec.NewHandler(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	add("apispec", rt.Patterns()) // kept by the function serving it, once one does
	return out
}

// TestEveryServedRouteIsInTheContractAndViceVersa: a route added, renamed
// or removed without changing the contract fails the build.
func TestEveryServedRouteIsInTheContractAndViceVersa(t *testing.T) {
	served := servedRoutes(t, testenv.New(t).Deps)
	documented := map[string]bool{}
	for _, r := range contract.Routes {
		documented[r.Key()] = true
		if _, ok := served[r.Key()]; !ok {
			t.Errorf("the contract documents %s, which no function serves", r.Key())
		}
	}
	var missing []string
	for route, fn := range served {
		if !documented[route] {
			missing = append(missing, route+" (function "+fn+")")
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("%s is served but not in the contract: add it to contract.Routes and run go generate ./shared/apispec", m)
	}
	t.Logf("%d routes served, %d in the contract", len(served), len(documented))
}

// TestTheContractNamesTheFunctionServingEachRoute: the document's tags
// tell a reader which function to look at.
func TestTheContractNamesTheFunctionServingEachRoute(t *testing.T) {
	served := servedRoutes(t, testenv.New(t).Deps)
	for _, r := range contract.Routes {
		fn, ok := served[r.Key()]
		if ok && r.Path != contract.HealthPath && fn != r.Function {
			t.Errorf("%s is served by %s, the contract says %s", r.Key(), fn, r.Function)
		}
	}
}

// TestCommittedDocumentsAreTheGeneratedOne: docs/openapi.json and the
// served copy are exactly what the route table produces.
func TestCommittedDocumentsAreTheGeneratedOne(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	want, err := contract.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range contract.Files {
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the route table produces: run go generate ./shared/apispec", f)
		}
	}
	if !bytes.Equal(apispec.Document(), want) {
		t.Errorf("the embedded document is stale: run go generate ./shared/apispec")
	}
}

// TestTheDocumentIsValidOpenAPI: the document loads and validates as
// OpenAPI 3.1, its examples included.
func TestTheDocumentIsValidOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(apispec.Document())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
}
