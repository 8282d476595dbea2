// Package console serves the tenant admin's web console: plain HTML, CSS and
// JavaScript embedded in the binary, served on the API's own domain so that
// the page opening WeChat's authorization start page is on the registered
// domain, and so that the console calls the admin API on its own origin.
// The console holds no secret: the CRM hands it a short-lived staff token in
// the URL fragment, which never reaches a server.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/uploads"
)

// Routes. API Gateway routes /console/ exactly and /console/assets/{path+};
// the assets' paths carry the version of the whole set, so a page loaded
// before a deployment keeps loading the files it was written for.
const (
	IndexPath  = "/console/"
	AssetsPath = "/console/assets/"
)

//go:embed web
var webFiles embed.FS

// versionPlaceholder is replaced in index.html by the assets' version.
const versionPlaceholder = "__ASSET_VERSION__"

// Image sources besides our own origin: data: for the QR codes the API
// answers in base64, and WeChat's image hosts for the mini program's logo
// (api_get_authorizer_info's head_img is a wx.qlogo.cn link; the console
// asks for it over https).
var imageHosts = []string{"'self'", "data:", "https://wx.qlogo.cn", "https://mmbiz.qpic.cn"}

// contentTypes are the kinds of file the console is made of; with nosniff a
// browser runs a script only when its type says so.
var contentTypes = map[string]string{
	".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml", ".png": "image/png",
}

// handler serves the console's files.
type handler struct {
	version string
	index   []byte
	files   fs.FS
	csp     string
}

// NewHandler builds the console function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	imgs := imageHosts
	if d.Config.UploadBucket != "" {
		// Rejection screenshots and work-order photos are presigned links
		// to the upload bucket.
		bucket, err := uploads.UploadDomain(d.Config)
		if err != nil {
			return nil, err
		}
		imgs = append(slices.Clip(imgs), bucket)
	}
	h, err := newHandler(imgs)
	if err != nil {
		return nil, err
	}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func newHandler(imgs []string) (*handler, error) {
	files, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	version, err := versionOf(files)
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, err
	}
	return &handler{version: version, files: files, csp: ContentSecurityPolicy(imgs),
		index: bytes.ReplaceAll(index, []byte(versionPlaceholder), []byte(version))}, nil
}

func (h *handler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.HandleHTTP("GET "+IndexPath, http.HandlerFunc(h.serveIndex))
	rt.HandleHTTP("GET "+AssetsPath+"{path...}", http.HandlerFunc(h.serveAsset))
	return rt
}

// ContentSecurityPolicy is the console's policy: scripts, styles and API
// calls from our origin only (no inline script or style, so an injected
// string can never run), images also from imgs, and no framing.
func ContentSecurityPolicy(imgs []string) string {
	return strings.Join([]string{
		"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
		"img-src " + strings.Join(imgs, " "), "font-src 'self'", "object-src 'none'", "base-uri 'none'",
		"form-action 'none'", "frame-ancestors 'none'",
	}, "; ")
}

// secure sets the headers every answer of the console carries.
func (h *handler) secure(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// The console's URLs name no secret (the token is in the fragment, which
	// browsers never send), but links the admin follows need not learn them.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// serveIndex answers the page itself. It is revalidated on every visit, so
// a deployment reaches the admin at the next reload; API Gateway routes
// only /console/ here, and the mux's subtree match is held to the same.
func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	h.secure(w)
	if r.URL.Path != IndexPath {
		notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.index)
}

// serveAsset answers /console/assets/<version>/<file>. The current
// version's files never change under that name and are cached for a year;
// another version (a page from before a deployment) gets today's file,
// not cached.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	h.secure(w)
	version, name, ok := strings.Cut(r.PathValue("path"), "/")
	if !ok || name == "index.html" || !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
		notFound(w, r)
		return
	}
	body, err := fs.ReadFile(h.files, name)
	if err != nil {
		notFound(w, r)
		return
	}
	ctype, known := contentTypes[path.Ext(name)]
	if !known {
		notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	if version == h.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(body)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteError(w, r, nil, apperr.Errorf(apperr.NotFound, "route_not_found", "no route for %s %s", r.Method, r.URL.Path))
}

// versionOf hashes every file: any change makes a new version.
func versionOf(files fs.FS) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(files, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", p, len(b))
		sum.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil))[:16], nil
}
