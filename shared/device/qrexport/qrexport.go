// Package qrexport makes the device QR codes an admin prints as stickers,
// a batch at a time: one zip of labelled codes and a manifest.
//
// The codes are mini program codes from WeChat's wxacode.getUnlimited,
// made with the tenant's released enterprise mini program, else with the
// platform's public one. Calling WeChat needs the platform's whitelisted
// egress and the mini programs' tokens, which the releaseadmin function
// (the one that already serves QR codes) has; WithQRExport adds the
// export to its routes.
package qrexport

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/config"
	"wxchannel/shared/device"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

// Limits of one export.
const (
	// MaxSNs is the most serial numbers one export takes.
	MaxSNs = 100
	// MaxZipBytes keeps the zip inside Lambda's 6 MB response once API
	// Gateway's base64 has grown it by a third.
	MaxZipBytes = 4 << 20
	// codesInFlight bounds the WeChat calls of one export.
	codesInFlight = 8
	// ManifestName is the zip entry listing the codes.
	ManifestName = "manifest.csv"
)

// Mini programs a code can open.
const (
	KindEnterprise = "enterprise"
	KindPublic     = "public"
)

// Exporter makes batches of device codes.
type Exporter struct {
	devices   *device.Store
	scenes    *qrscene.Codec
	bindings  *binding.Store
	pipelines *release.Service
	tokens    *tokens.Manager
	wx        *wechat.Client
	service   dynamo.Table
	publicApp string
	now       func() time.Time
}

// Parts are an Exporter's stores and clients.
type Parts struct {
	Devices   *device.Store
	Scenes    *qrscene.Codec
	Bindings  *binding.Store
	Pipelines *release.Service
	Tokens    *tokens.Manager
	WeChat    *wechat.Client
	// Service is the service table (the tenant's settings, read with its
	// binding in one call).
	Service   dynamo.Table
	PublicApp string
	Now       func() time.Time
}

// NewExporter returns an exporter over its parts.
func NewExporter(p Parts) *Exporter {
	return &Exporter{devices: p.Devices, scenes: p.Scenes, bindings: p.Bindings, pipelines: p.Pipelines, tokens: p.Tokens,
		wx: p.WeChat, service: p.Service, publicApp: p.PublicApp, now: p.Now}
}

// Request is what the admin asks for.
type Request struct {
	SNs []string `json:"sns"`
}

// normalized validates the serial numbers and returns them normalized,
// each once, in the order given.
func (r Request) normalized() ([]string, error) {
	if len(r.SNs) == 0 || len(r.SNs) > MaxSNs {
		return nil, apperr.InvalidField("sns", fmt.Sprintf("between 1 and %d serial numbers", MaxSNs))
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(r.SNs))
	for i, sn := range r.SNs {
		if !device.ValidSN(sn) {
			return nil, apperr.InvalidField(fmt.Sprintf("sns[%d]", i), "4–40 letters, digits or dashes")
		}
		if n := device.Normalize(sn); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// Batch is a finished export: the zip, its file name and how many codes
// it holds.
type Batch struct {
	Zip      []byte
	FileName string
	Codes    int
}

// Export makes the codes of req's serial numbers for the tenant.
func (e *Exporter) Export(ctx context.Context, tenantID string, req Request) (Batch, error) {
	sns, err := req.normalized()
	if err != nil {
		return Batch{}, err
	}
	kind, ts, err := e.miniProgram(ctx, tenantID)
	if err != nil {
		return Batch{}, err
	}
	records, err := e.devices.Records(ctx, tenantID, sns)
	if err != nil {
		return Batch{}, err
	}
	codes := make([]code, len(sns))
	err = device.InParallel(ctx, len(sns), codesInFlight, func(ctx context.Context, i int) error {
		c, err := e.code(ctx, tenantID, sns[i], records[sns[i]].Scene, ts)
		codes[i] = c
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	now := e.now()
	zipped, err := zipCodes(codes, kind, now)
	if err != nil {
		return Batch{}, err
	}
	if len(zipped) > MaxZipBytes {
		fit := max(1, len(codes)*MaxZipBytes/len(zipped))
		return Batch{}, apperr.Errorf(apperr.TooLarge, "export_too_large",
			"these codes make a %d-byte download, over the %d allowed; export about %d serial numbers at a time", len(zipped),
			MaxZipBytes, fit).WithDetails(map[string]any{"max_bytes": MaxZipBytes, "suggested_batch": fit})
	}
	return Batch{Zip: zipped, FileName: "device-qr-codes-" + now.UTC().Format("20060102-150405") + ".zip", Codes: len(codes)}, nil
}

// miniProgram chooses the mini program the codes open: the tenant's own
// once it has a released version, else the public one, unless the tenant
// retired its public codes.
func (e *Exporter) miniProgram(ctx context.Context, tenantID string) (string, wechat.TokenSource, error) {
	b, st, err := e.bindings.ByTenantWithSettings(ctx, tenantID, e.service)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", nil, err
	}
	if err == nil && b.Bound() {
		p, err := e.pipelines.Get(ctx, b.AppID)
		if err != nil {
			return "", nil, err
		}
		if p.ReleasedVersion != "" {
			return KindEnterprise, e.tokens.AuthorizerTokenSource(b.AppID), nil
		}
	}
	if st.RetirePublicQR {
		return "", nil, apperr.E(apperr.Conflict, "no_released_mini_program",
			"your public QR codes are retired and your own mini program has no released version yet: release it first")
	}
	if e.publicApp == "" {
		return "", nil, &config.MissingError{Names: []string{config.EnvPublicAppID}}
	}
	return KindPublic, e.tokens.PublicTokenSource(), nil
}

// code is one serial number's sticker.
type code struct {
	sn, scene string
	png       []byte
}

// code makes one serial number's sticker. The device keeps its scene: the
// first export records one and every later export prints the same.
func (e *Exporter) code(ctx context.Context, tenantID, sn, scene string, ts wechat.TokenSource) (code, error) {
	if scene == "" {
		fresh, err := e.scenes.Encode(ctx, tenantID, sn)
		if err != nil {
			return code{}, err
		}
		if scene, err = e.devices.SetSceneIfAbsent(ctx, tenantID, sn, fresh); err != nil {
			return code{}, err
		}
	}
	_, img, err := e.wx.WxaCodeUnlimit(ctx, ts, scene, qrscene.PortalPage, "release")
	if wechat.IsCode(err, wechat.CodePageNotPublished) {
		return code{}, apperr.E(apperr.Conflict, "not_released", "release the mini program before exporting its QR codes").Wrap(err)
	}
	if err != nil {
		return code{}, err
	}
	png, err := sticker(img, sn)
	if err != nil {
		return code{}, apperr.E(apperr.Upstream, "wechat_bad_image", "WeChat sent a QR code image we cannot read; retry later").Wrap(err)
	}
	return code{sn: sn, scene: scene, png: png}, nil
}

// zipCodes writes each sticker as <SN>.png (stored: a PNG is compressed
// already) and the manifest (sn, scene, file, mini program), its cells
// escaped so a spreadsheet never runs one as a formula.
func zipCodes(codes []code, kind string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var manifest bytes.Buffer
	cw := csv.NewWriter(&manifest)
	_ = cw.Write([]string{"sn", "scene", "file", "mini_program"})
	for _, c := range codes {
		name := c.sn + ".png"
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: now})
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", name, err)
		}
		if _, err := w.Write(c.png); err != nil {
			return nil, fmt.Errorf("zip %s: %w", name, err)
		}
		_ = cw.Write([]string{SpreadsheetSafe(c.sn), SpreadsheetSafe(c.scene), SpreadsheetSafe(name), kind})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: now})
	if err != nil {
		return nil, fmt.Errorf("zip manifest: %w", err)
	}
	if _, err := w.Write(manifest.Bytes()); err != nil {
		return nil, fmt.Errorf("zip manifest: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("close zip: %w", err)
	}
	return buf.Bytes(), nil
}

// SpreadsheetSafe keeps a spreadsheet from reading a cell as a formula: a
// value starting with =, +, -, @, tab or carriage return gets a leading
// apostrophe (OWASP's advice on CSV injection). A serial number or a
// scene may well start with a dash.
func SpreadsheetSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// handler serves the export.
type handler struct {
	exports *Exporter
	staff   *staffauth.Verifier
}

// WithQRExport adds POST /admin/devices/qr-export to the routes base
// makes, which it serves unchanged: the export belongs in the function
// that already makes QR codes (see the package comment).
func WithQRExport(base app.HandlerFactory) app.HandlerFactory {
	return func(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
		inner, err := base(ctx, d)
		if err != nil {
			return nil, err
		}
		staff, err := staffauth.FromDeps(d)
		if err != nil {
			return nil, err
		}
		tm := tokens.FromDeps(d)
		h := &handler{staff: staff, exports: NewExporter(Parts{Devices: device.NewStore(d.DB), Scenes: qrscene.FromDeps(d),
			Bindings: binding.NewStore(d.DB), Pipelines: release.ServiceFromDeps(d, tm), Tokens: tm, WeChat: d.WeChat,
			Service: d.DB.Service, PublicApp: d.Config.PublicAppID, Now: d.Now})}
		rt := httpapi.NewRouter(d.Log)
		for _, p := range inner.Patterns() {
			rt.HandleHTTP(p, inner)
		}
		return h.routes(rt), nil
	}
}

func (h *handler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /admin/devices/qr-export", h.staff.Admin(h.handleExport))
	return rt
}

func (h *handler) handleExport(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req Request
	if err := httpapi.DecodeJSON(r, &req, 8<<10); err != nil {
		return err
	}
	out, err := h.exports.Export(r.Context(), c.TenantID, req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+out.FileName+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Zip)
	return nil
}
