package qrexport

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // WeChat answers mini program codes as JPEG
	"image/png"
	"strings"
)

// A sticker is the mini program code with its serial number printed under
// it, in grayscale: device stickers are printed in one colour (thermal
// label printers), and a gray PNG is a third of the size of a colour one,
// which keeps a hundred codes inside one response.

// glyphs is a 5×7 bitmap font of the characters a normalized serial number
// has (digits, capital letters, dash): seven rows of five columns, top
// first, separated by '|'; '#' is ink.
var glyphs = map[rune]string{
	'0': " ### |#   #|#  ##|# # #|##  #|#   #| ### ",
	'1': "  #  | ##  |  #  |  #  |  #  |  #  | ### ",
	'2': " ### |#   #|    #|   # |  #  | #   |#####",
	'3': "#####|   # |  #  |   # |    #|#   #| ### ",
	'4': "   # |  ## | # # |#  # |#####|   # |   # ",
	'5': "#####|#    |#### |    #|    #|#   #| ### ",
	'6': "  ## | #   |#    |#### |#   #|#   #| ### ",
	'7': "#####|    #|   # |  #  | #   | #   | #   ",
	'8': " ### |#   #|#   #| ### |#   #|#   #| ### ",
	'9': " ### |#   #|#   #| ####|    #|   # | ##  ",
	'A': " ### |#   #|#   #|#####|#   #|#   #|#   #",
	'B': "#### |#   #|#   #|#### |#   #|#   #|#### ",
	'C': " ### |#   #|#    |#    |#    |#   #| ### ",
	'D': "###  |#  # |#   #|#   #|#   #|#  # |###  ",
	'E': "#####|#    |#    |#### |#    |#    |#####",
	'F': "#####|#    |#    |#### |#    |#    |#    ",
	'G': " ### |#   #|#    |# ###|#   #|#   #| ####",
	'H': "#   #|#   #|#   #|#####|#   #|#   #|#   #",
	'I': " ### |  #  |  #  |  #  |  #  |  #  | ### ",
	'J': "  ###|   # |   # |   # |   # |#  # | ##  ",
	'K': "#   #|#  # |# #  |##   |# #  |#  # |#   #",
	'L': "#    |#    |#    |#    |#    |#    |#####",
	'M': "#   #|## ##|# # #|# # #|#   #|#   #|#   #",
	'N': "#   #|#   #|##  #|# # #|#  ##|#   #|#   #",
	'O': " ### |#   #|#   #|#   #|#   #|#   #| ### ",
	'P': "#### |#   #|#   #|#### |#    |#    |#    ",
	'Q': " ### |#   #|#   #|#   #|# # #|#  # | ## #",
	'R': "#### |#   #|#   #|#### |# #  |#  # |#   #",
	'S': " ####|#    |#    | ### |    #|    #|#### ",
	'T': "#####|  #  |  #  |  #  |  #  |  #  |  #  ",
	'U': "#   #|#   #|#   #|#   #|#   #|#   #| ### ",
	'V': "#   #|#   #|#   #|#   #|#   #| # # |  #  ",
	'W': "#   #|#   #|#   #|# # #|# # #|# # #| # # ",
	'X': "#   #|#   #| # # |  #  | # # |#   #|#   #",
	'Y': "#   #|#   #| # # |  #  |  #  |  #  |  #  ",
	'Z': "#####|    #|   # |  #  | #   |#    |#####",
	'-': "     |     |     |#####|     |     |     ",
}

// Glyph cells are 5×7 with one column of spacing; the text is drawn at an
// integer scale between minScale and maxScale, as wide as the code allows.
const (
	glyphH, glyphAdvance = 7, 6
	minScale, maxScale   = 2, 6
)

// maxCodeSide bounds the image sticker decodes: WeChat's codes are 280 to
// 1280 pixels wide, and a header claiming more is not decoded at all.
const maxCodeSide = 2000

// sticker decodes a mini program code (JPEG or PNG) and returns it as a
// gray PNG with text printed centred in a white band under it.
func sticker(code []byte, text string) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(code))
	if err != nil {
		return nil, fmt.Errorf("decode mini program code: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxCodeSide || cfg.Height > maxCodeSide {
		return nil, fmt.Errorf("mini program code of %d×%d pixels", cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(code))
	if err != nil {
		return nil, fmt.Errorf("decode mini program code: %w", err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	scale := max(minScale, min(maxScale, w*9/10/max(1, len(text)*glyphAdvance)))
	textW, textH := len(text)*glyphAdvance*scale-scale, glyphH*scale
	pad := 2 * scale
	canvasW := max(w, textW+2*pad)
	out := image.NewGray(image.Rect(0, 0, canvasW, h+textH+2*pad))
	for i := range out.Pix {
		out.Pix[i] = 0xff
	}
	drawLuma(out, src, (canvasW-w)/2)
	drawText(out, text, (canvasW-textW)/2, h+pad, scale)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("encode sticker: %w", err)
	}
	return buf.Bytes(), nil
}

// drawLuma draws the luma of img at the top of out, left edge at x. A
// JPEG decodes to YCbCr, whose Y plane is the gray image, copied as is;
// anything else is converted pixel by pixel. Near-black and near-white
// are snapped to black and white, which removes most JPEG ringing and lets
// the PNG compress.
func drawLuma(out *image.Gray, img image.Image, x int) {
	b := img.Bounds()
	w := b.Dx()
	for y := range b.Dy() {
		row := out.Pix[y*out.Stride+x : y*out.Stride+x+w]
		switch src := img.(type) {
		case *image.YCbCr:
			at := src.YOffset(b.Min.X, b.Min.Y+y)
			copy(row, src.Y[at:at+w])
		case *image.Gray:
			at := src.PixOffset(b.Min.X, b.Min.Y+y)
			copy(row, src.Pix[at:at+w])
		default:
			for i := range row {
				row[i] = color.GrayModel.Convert(img.At(b.Min.X+i, b.Min.Y+y)).(color.Gray).Y
			}
		}
		for i, v := range row {
			switch {
			case v < 40:
				row[i] = 0
			case v > 215:
				row[i] = 0xff
			}
		}
	}
}

// drawText draws text in black (characters without a glyph are left
// blank) with its top-left corner at x, y.
func drawText(img *image.Gray, text string, x, y, scale int) {
	for i, c := range text {
		g, ok := glyphs[c]
		if !ok {
			continue
		}
		left := x + i*glyphAdvance*scale
		for row, line := range strings.Split(g, "|") {
			for col, px := range line {
				if px != '#' {
					continue
				}
				for dy := range scale {
					at := img.PixOffset(left+col*scale, y+row*scale+dy)
					clear(img.Pix[at : at+scale])
				}
			}
		}
	}
}
