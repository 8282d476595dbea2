package qrexport

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
)

func TestSpreadsheetSafeEscapesWhatASpreadsheetWouldRun(t *testing.T) {
	for in, want := range map[string]string{
		"AC-0001": "AC-0001", "-A12": "'-A12", "=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "@SUM": "'@SUM",
		"\tx": "'\tx", "\rx": "'\rx", "": "", "a=b": "a=b",
	} {
		if got := SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEveryCharacterOfASerialNumberHasAGlyph: the font covers the
// normalized alphabet, each glyph 5 columns by 7 rows.
func TestEveryCharacterOfASerialNumberHasAGlyph(t *testing.T) {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-" {
		g, ok := glyphs[c]
		if !ok {
			t.Fatalf("no glyph for %q", c)
		}
		rows := strings.Split(g, "|")
		if len(rows) != glyphH {
			t.Fatalf("glyph %q has %d rows", c, len(rows))
		}
		for _, row := range rows {
			if len(row) != 5 || strings.Trim(row, " #") != "" {
				t.Fatalf("glyph %q has a row %q", c, row)
			}
		}
	}
}

func codeImage(t testing.TB, side int, encode func(io.Writer, image.Image) error) []byte {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			if (x/4+y/4)%2 == 0 {
				img.Set(x, y, color.RGBA{A: 255})
			} else {
				img.Set(x, y, color.RGBA{R: 255, G: 255, B: 255, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAStickerIsTheCodeWithItsNumberUnderIt: a JPEG or PNG code becomes a
// gray PNG at least as wide as the code and the number, with the code on
// top; a code larger than WeChat makes is not decoded.
func TestAStickerIsTheCodeWithItsNumberUnderIt(t *testing.T) {
	jpg := func(w io.Writer, img image.Image) error { return jpeg.Encode(w, img, nil) }
	for name, code := range map[string][]byte{"jpeg": codeImage(t, 430, jpg), "png": codeImage(t, 430, png.Encode)} {
		out, err := sticker(code, "AC-2024-0001")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, gray := img.(*image.Gray); !gray || img.Bounds().Dx() != 430 || img.Bounds().Dy() <= 430 {
			t.Fatalf("%s: a %T of %v", name, img, img.Bounds())
		}
	}
	if _, err := sticker(codeImage(t, maxCodeSide+1, png.Encode), "AC-0001"); err == nil {
		t.Fatal("a code larger than WeChat makes was decoded")
	}
}

// FuzzSticker: whatever WeChat sends, sticker answers a PNG or an error,
// never a panic.
func FuzzSticker(f *testing.F) {
	f.Add(codeImage(f, 16, png.Encode), "AC-0001")
	f.Add([]byte("\x89PNG\r\n\x1a\n"), "X")
	f.Add([]byte{0xff, 0xd8, 0xff}, "-")
	f.Fuzz(func(t *testing.T, code []byte, text string) {
		if len(text) > 40 { // a serial number's longest
			return
		}
		out, err := sticker(code, text)
		if err != nil {
			return
		}
		if _, err := png.Decode(bytes.NewReader(out)); err != nil {
			t.Fatalf("sticker answered an unreadable PNG: %v", err)
		}
	})
}

// BenchmarkSticker is one sticker from a 430-pixel JPEG code (WeChat's
// default width) with a 12-character serial number: an export of 100
// spends 100 of these of CPU.
func BenchmarkSticker(b *testing.B) {
	code := codeImage(b, 430, func(w io.Writer, img image.Image) error { return jpeg.Encode(w, img, nil) })
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		var err error
		if out, err = sticker(code, "AC-2024-0001"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "png-bytes")
}
