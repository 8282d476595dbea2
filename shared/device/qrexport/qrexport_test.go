package qrexport_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"strings"
	"testing"

	"wxchannel/functions"
	"wxchannel/shared/device/qrexport"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat/wechatsim"
)

const acmeApp = "wxacme00000000q1"

// exports is the test world: every function through the Lambda adapter
// and acme's admin.
type exports struct {
	*testenv.API
	admin string
}

func newExports(t *testing.T) *exports {
	t.Helper()
	e := &exports{API: testenv.Setup(t, functions.Mount)}
	e.admin = e.Staff("acme", "admin-1", staffauth.RoleAdmin)
	return e
}

func (e *exports) export(sns ...string) testenv.Reply {
	return e.Do("POST", "/admin/devices/qr-export", e.admin, map[string]any{"sns": sns})
}

// unzip returns a zip's entries by name, in order, and the manifest's rows.
func (e *exports) unzip(r testenv.Reply) (names []string, files map[string][]byte, manifest [][]string) {
	e.T.Helper()
	zr, err := zip.NewReader(bytes.NewReader([]byte(r.Raw)), int64(len(r.Raw)))
	if err != nil {
		e.T.Fatalf("not a zip (%s): %v", r.Header.Get("Content-Type"), err)
	}
	files = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			e.T.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			e.T.Fatal(err)
		}
		names, files[f.Name] = append(names, f.Name), b
	}
	manifest, err = csv.NewReader(bytes.NewReader(files[qrexport.ManifestName])).ReadAll()
	if err != nil {
		e.T.Fatalf("manifest: %v", err)
	}
	return names, files, manifest
}

// settings saves acme's settings with its public codes retired or kept.
func (e *exports) settings(retire bool, version float64) float64 {
	e.T.Helper()
	return e.Must(e.Do("PUT", "/admin/portal/settings", e.admin, map[string]any{"guest_access": true, "max_checkin_distance_m": 500,
		"retire_public_qr": retire, "version": version}), 200).Get("version").(float64)
}

// TestExportedStickersAreAZipOfLabelledCodesAndAnEscapedManifest: the
// export answers a zip with one labelled PNG per serial number (each once,
// named by its normalized number) and a manifest whose cells a spreadsheet
// cannot run; a code's scene opens the portal for its device, and a second
// export prints the same codes.
func TestExportedStickersAreAZipOfLabelledCodesAndAnEscapedManifest(t *testing.T) {
	e := newExports(t)
	r := e.Must(e.export("-A12", "ac-0001", "AC-0001"), 200)
	if r.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="device-qr-codes-`) {
		t.Fatalf("headers %v", r.Header)
	}
	names, files, manifest := e.unzip(r)
	if fmt.Sprint(names) != "[-A12.png AC-0001.png manifest.csv]" {
		t.Fatalf("entries %v", names)
	}
	if e.Sim.Calls("getwxacodeunlimit") != 2 {
		t.Fatalf("WeChat made %d codes for 2 serial numbers", e.Sim.Calls("getwxacodeunlimit"))
	}
	for _, name := range names[:2] {
		img, format, err := image.Decode(bytes.NewReader(files[name]))
		if err != nil || format != "png" {
			t.Fatalf("%s: %s %v", name, format, err)
		}
		if b := img.Bounds(); b.Dy() <= 64 || b.Dx() < 64 || !inkIn(img, image.Rect(0, 64, b.Dx(), b.Dy())) {
			t.Fatalf("%s: %v without the serial number printed under the 64-pixel code", name, b)
		}
	}
	if len(manifest) != 3 || fmt.Sprint(manifest[0]) != "[sn scene file mini_program]" {
		t.Fatalf("manifest %v", manifest)
	}
	if row := manifest[1]; row[0] != "'-A12" || row[2] != "'-A12.png" || row[3] != "public" {
		t.Fatalf("a serial number starting with a dash is not escaped: %v", row)
	}
	scene := strings.TrimPrefix(manifest[2][1], "'")
	if manifest[2][0] != "AC-0001" || (strings.HasPrefix(scene, "-") != strings.HasPrefix(manifest[2][1], "'")) {
		t.Fatalf("row %v", manifest[2])
	}
	if login := e.Must(e.Login(scene, "openid-scan"), 200); login.Str("device_sn") != "AC-0001" {
		t.Fatalf("the printed code opens %s", login.Raw)
	}

	_, _, again := e.unzip(e.Must(e.export("AC-0001"), 200))
	if again[1][1] != manifest[2][1] {
		t.Fatalf("a second export printed scene %s, the first %s", again[1][1], manifest[2][1])
	}
}

// inkIn reports whether img has a dark pixel in r.
func inkIn(img image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if g, _, _, _ := img.At(x, y).RGBA(); g < 0x4000 {
				return true
			}
		}
	}
	return false
}

// TestAnExportIsRefusedWholeBeforeWeChatIsAsked: more than 100 serial
// numbers, a malformed one, an engineer's token, or a tenant whose public
// codes are retired before its own mini program is released are refused,
// and no code is made.
func TestAnExportIsRefusedWholeBeforeWeChatIsAsked(t *testing.T) {
	e := newExports(t)
	many := make([]string, qrexport.MaxSNs+1)
	for i := range many {
		many[i] = fmt.Sprintf("SN-%04d", i)
	}
	if r := e.MustError(e.export(many...), 400, "invalid_field"); r.Str("error", "details", "field") != "sns" {
		t.Fatalf("101 serial numbers: %s", r.Raw)
	}
	if r := e.MustError(e.export("AC-0001", "AC_0002"), 400, "invalid_field"); r.Str("error", "details", "field") != "sns[1]" {
		t.Fatalf("a malformed serial number: %s", r.Raw)
	}
	e.MustError(e.export(), 400, "invalid_field")
	e.MustError(e.Do("POST", "/admin/devices/qr-export", e.Staff("acme", "eng-1", staffauth.RoleEngineer),
		map[string]any{"sns": []string{"AC-0001"}}), 403, "forbidden_role")
	e.settings(true, 0)
	e.MustError(e.export("AC-0001"), 409, "no_released_mini_program")
	if n := e.Sim.Calls("getwxacodeunlimit"); n != 0 {
		t.Fatalf("refused exports made %d codes", n)
	}
}

// TestCodesOpenTheEnterpriseMiniProgramOnceItIsReleased: a tenant with its
// own mini program gets public codes until the mini program is released
// (unless it retired them: then none), and its own codes afterwards.
func TestCodesOpenTheEnterpriseMiniProgramOnceItIsReleased(t *testing.T) {
	e := newExports(t)
	sim := e.Sim
	sim.SetMessageURL(e.MessageURL())
	sim.AddTemplate(wechatsim.Template{ID: 11, Version: "1.0.0", Desc: "first"})
	sim.SetPrivacyScanDelay(0)
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: acmeApp, Name: "Acme Service", UserName: "gh_acme00q1", PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/a.png", Signature: "Acme after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	e.Must(e.Authorize(e.admin, acmeApp), 200)

	if _, _, m := e.unzip(e.Must(e.export("AC-0001"), 200)); m[1][3] != "public" {
		t.Fatalf("before the release %v", m)
	}
	version := e.settings(true, 0)
	e.MustError(e.export("AC-0001"), 409, "no_released_mini_program")
	e.settings(false, version)

	e.Must(e.Do("POST", "/admin/miniprogram/prepare", e.admin, nil), 200)
	sim.ApprovePrivacyInterface(acmeApp)
	e.Must(e.Do("POST", "/admin/miniprogram/prepare", e.admin, nil), 200)
	e.Must(e.Do("POST", "/admin/miniprogram/review", e.admin, map[string]any{}), 202)
	if err := sim.FinishAudit(context.Background(), acmeApp, true); err != nil {
		t.Fatal(err)
	}
	e.Must(e.Do("POST", "/admin/miniprogram/release", e.admin, nil), 200)
	if _, _, m := e.unzip(e.Must(e.export("AC-0001"), 200)); m[1][3] != "enterprise" {
		t.Fatalf("after the release %v", m)
	}
}
