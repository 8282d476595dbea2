package console_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/console"
)

func serve(t *testing.T, cfg config.Config) http.Handler {
	t.Helper()
	rt, err := console.NewHandler(context.Background(), &app.Deps{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTheIndexIsRevalidatedAndItsAssetsCachedByVersion: the page is
// checked again on every visit, its files are named by the version of the
// whole set and cached for a year, and every answer carries the security
// headers.
func TestTheIndexIsRevalidatedAndItsAssetsCachedByVersion(t *testing.T) {
	h := serve(t, config.Config{})
	index := get(t, h, "/console/")
	page := body(t, index)
	if index.StatusCode != http.StatusOK || index.Header.Get("Cache-Control") != "no-cache" ||
		!strings.HasPrefix(index.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %v", index.StatusCode, index.Header)
	}
	m := regexp.MustCompile(`src="assets/([0-9a-f]{16})/app\.js"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the index names no versioned script:\n%s", page)
	}
	version := m[1]
	for _, tc := range []struct {
		path, cache, ctype string
		status             int
	}{
		{"/console/assets/" + version + "/app.js", "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", http.StatusOK},
		{"/console/assets/" + version + "/console.css", "public, max-age=31536000, immutable", "text/css; charset=utf-8", http.StatusOK},
		// A page loaded before a deployment gets today's files, not cached.
		{"/console/assets/0123456789abcdef/app.js", "no-cache", "text/javascript; charset=utf-8", http.StatusOK},
		{"/console/assets/" + version + "/missing.js", "no-store", "application/json", http.StatusNotFound},
		{"/console/assets/" + version + "/index.html", "no-store", "application/json", http.StatusNotFound},
		{"/console/assets/app.js", "no-store", "application/json", http.StatusNotFound},
		{"/console/other", "no-store", "application/json", http.StatusNotFound},
	} {
		r := get(t, h, tc.path)
		if r.StatusCode != tc.status || r.Header.Get("Cache-Control") != tc.cache || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d, Cache-Control %q, Content-Type %q", tc.path, r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Get("Content-Type"))
		}
	}
	for _, r := range []*http.Response{index, get(t, h, "/console/assets/"+version+"/app.js"), get(t, h, "/console/nope")} {
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Error("no Content-Security-Policy")
		}
	}
}

// TestThePolicyAllowsNothingInlineAndImagesFromTheBucket: scripts, styles
// and calls come from our origin only; images also as data: (QR codes),
// from WeChat's logo hosts and from the upload bucket (screenshots).
func TestThePolicyAllowsNothingInlineAndImagesFromTheBucket(t *testing.T) {
	h := serve(t, config.Config{UploadBucket: "photos", Region: "cn-north-1"})
	csp := get(t, h, "/console/").Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self'", "frame-ancestors": "'none'",
		"object-src": "'none'", "base-uri": "'none'", "form-action": "'none'",
		"img-src": "'self' data: https://wx.qlogo.cn https://mmbiz.qpic.cn https://photos.s3.cn-north-1.amazonaws.com.cn",
	}
	for k, v := range want {
		if directives[k] != v {
			t.Errorf("%s %q, want %q (policy %s)", k, directives[k], v, csp)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", csp)
	}
}

// TestTheFilesHaveNoInlineScriptOrMarkupFromStrings: the policy would
// refuse inline code anyway; the scripts also never turn strings into
// markup or code, so a name or message from the API stays text.
func TestTheFilesHaveNoInlineScriptOrMarkupFromStrings(t *testing.T) {
	web := os.DirFS("web")
	index, err := fs.ReadFile(web, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`), regexp.MustCompile(`(?i)\sstyle=`), regexp.MustCompile(`(?i)\son[a-z]+=`),
		regexp.MustCompile(`(?i)<style`), regexp.MustCompile(`(?i)javascript:`),
	} {
		if loc := bad.FindIndex(index); loc != nil {
			t.Errorf("index.html has %q", index[loc[0]:loc[1]])
		}
	}
	scripts, _ := fs.Glob(web, "*.js")
	for _, name := range scripts {
		src, _ := fs.ReadFile(web, name)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style.", "'style'", "localStorage.setItem(tokenKey"} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestEveryTextHasBothLanguages: the Chinese and English tables have the
// same keys, and every key the pages ask for is in them.
func TestEveryTextHasBothLanguages(t *testing.T) {
	src, err := os.ReadFile("web/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][]string{}
	key := regexp.MustCompile(`(?m)(?:^|[{,]\s*)(?:'([^']+)'|([a-zA-Z_]+)):\s`)
	for _, lang := range []string{"zh", "en"} {
		start := strings.Index(string(src), "const "+lang+" = {")
		end := strings.Index(string(src)[start:], "\n};") + start
		for _, m := range key.FindAllStringSubmatch(string(src)[start:end], -1) {
			tables[lang] = append(tables[lang], m[1]+m[2])
		}
		slices.Sort(tables[lang])
	}
	if len(tables["zh"]) < 100 || !slices.Equal(tables["zh"], tables["en"]) {
		zh, en := tables["zh"], tables["en"]
		t.Fatalf("the tables differ (%d zh, %d en): only zh %v, only en %v", len(zh), len(en), missing(zh, en), missing(en, zh))
	}
	used := regexp.MustCompile(`\bt\('([a-z_.]+)'(\s*\+)?`)
	scripts, _ := fs.Glob(os.DirFS("web"), "*.js")
	for _, name := range scripts {
		code, _ := os.ReadFile("web/" + name)
		for _, m := range used.FindAllStringSubmatch(string(code), -1) {
			found := slices.Contains(tables["zh"], m[1])
			if m[2] != "" { // a prefix completed at run time
				found = slices.ContainsFunc(tables["zh"], func(k string) bool { return strings.HasPrefix(k, m[1]) })
			}
			if !found {
				t.Errorf("%s asks for %q, which no table has", name, m[1])
			}
		}
	}
}

func missing(a, b []string) []string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	return out
}

// TestAPathOutsideTheFilesIsNeverServed: a path that climbs out of the
// assets is redirected to its clean form or refused, never read.
func TestAPathOutsideTheFilesIsNeverServed(t *testing.T) {
	h := serve(t, config.Config{})
	for _, p := range []string{"/console/assets/x/../../admin", "/console/assets/x/%2e%2e/console.go", "/console/assets/x/.hidden.js",
		"/console/assets/x//app.js"} {
		r := get(t, h, p)
		if r.StatusCode == http.StatusOK {
			t.Errorf("%s: served", p)
		}
		if r.StatusCode == http.StatusNotFound {
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body(t, r)), &env); err != nil || env.Error.Code != "route_not_found" {
				t.Errorf("%s: %v %+v", p, err, env)
			}
		}
	}
}
