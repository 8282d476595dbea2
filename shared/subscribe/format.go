package subscribe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What Format does to a value before checking it, per rule. Each step only
// repairs what the rule's reader would not miss; anything else is left for
// the check to refuse.

// prepareThing keeps a thing on one line of at most 20 characters: line
// breaks, tabs and other spaces become one space, invisible formatting
// characters and characters beyond the Basic Multilingual Plane (emoji)
// go, and a longer text keeps its first 19 characters and "…".
func prepareThing(s string) string {
	var b strings.Builder
	space := false
	for _, c := range foldWidth(s, false) {
		switch {
		case unicode.IsSpace(c) || unicode.IsControl(c):
			space = b.Len() > 0
		case c > 0xFFFF || !unicode.IsPrint(c):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(c)
		}
	}
	return truncate(b.String(), maxThing, ellipsis)
}

// truncate keeps s within limit characters, ending a shortened one with
// tail.
func truncate(s string, limit int, tail string) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	keep := limit - utf8.RuneCountInString(tail)
	i := 0
	for range keep {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace) + tail
}

// prepareName writes a Chinese name without spaces and joins the parts of
// a Latin one with "·" (John·Smith), then keeps it within its limit.
func prepareName(s string) string {
	s = strings.NewReplacer("•", string(middleDot), "・", string(middleDot)).Replace(s)
	parts := strings.Fields(foldWidth(s, false))
	if strings.ContainsFunc(s, isHan) {
		return truncateName(strings.Join(parts, ""), maxHanName)
	}
	return truncateName(strings.Join(parts, string(middleDot)), maxLatinName)
}

func truncateName(s string, limit int) string {
	return strings.TrimRight(truncate(s, limit, ""), string(middleDot))
}

// prepareNumber drops spaces and thousands separators (1,234.5).
func prepareNumber(s string) string {
	return strings.NewReplacer(",", "", " ", "").Replace(foldWidth(strings.TrimSpace(s), true))
}

// prepareCode trims a code and writes its full-width characters in ASCII.
func prepareCode(s string) string { return foldWidth(strings.TrimSpace(s), true) }

// preparePhoneNumber drops the spaces people put in numbers.
func preparePhoneNumber(s string) string { return removeSpaces(foldWidth(s, true)) }

// prepareCarNumber writes a plate in capitals without its separators
// (粤A·8Z888 → 粤A8Z888).
func prepareCarNumber(s string) string {
	return strings.ToUpper(strings.NewReplacer(string(middleDot), "", "-", "").Replace(removeSpaces(foldWidth(s, true))))
}

// prepareMoment writes a time or date with ASCII digits and signs, one
// space between date and time and none around "~".
func prepareMoment(s string) string {
	s = strings.Join(strings.Fields(foldWidth(s, true)), " ")
	return strings.ReplaceAll(strings.ReplaceAll(s, " ~", "~"), "~ ", "~")
}

// prepareAmount drops thousands separators and gives a bare number the
// sign ¥ (12.50 → ¥12.50, 99元 → ¥99元).
func prepareAmount(s string) string {
	s = strings.NewReplacer(",", "", " ", "").Replace(foldWidth(strings.TrimSpace(s), true))
	if first, _ := utf8.DecodeRuneInString(s); isDigit(first) {
		return "¥" + s
	}
	return s
}

// AmountValue is an amount in fen (分) as an amount keyword shows it:
// "¥12.50". It fails for a negative amount or one of more than 10 digits.
func AmountValue(fen int64) (string, error) {
	if fen < 0 {
		return "", fmt.Errorf("keyword rule %s: %w", Amount, ErrFormat)
	}
	v := fmt.Sprintf("¥%d.%02d", fen/100, fen%100)
	if err := Valid(Amount, v); err != nil {
		return "", err
	}
	return v, nil
}

func removeSpaces(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsSpace(c) {
			return -1
		}
		return c
	}, s)
}

// Full-width forms of ASCII (U+FF01..U+FF5E) lie at a fixed distance from
// ASCII; U+3000 is the full-width space.
const (
	fullWidthFirst  = 0xFF01
	fullWidthLast   = 0xFF5E
	fullWidthOffset = 0xFEE0
	ideographicSp   = 0x3000
)

// foldWidth writes full-width letters and digits (and, with signs, every
// full-width ASCII sign: －, ：, ～) as ASCII, and the full-width space as
// a space. Without signs, Chinese punctuation (，。：) stays as typed.
func foldWidth(s string, signs bool) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == ideographicSp:
			return ' '
		case c >= fullWidthFirst && c <= fullWidthLast:
			narrow := c - fullWidthOffset
			if signs || isDigit(narrow) || isLatin(narrow) {
				return narrow
			}
		}
		return c
	}, s)
}
