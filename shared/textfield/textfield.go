// Package textfield cleans the free text people type (descriptions, names,
// addresses, comments, notes) before it is stored: it must be valid UTF-8
// without control characters or invisible formatting characters, it is
// normalised to NFC and trimmed, and its length is counted in characters
// of the cleaned text. What Clean returns is what gets stored.
package textfield

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Rule is what one field accepts. Min and Max count characters (runes) of
// the cleaned text; Min 0 makes the field optional.
type Rule struct {
	Min, Max int
	// MultiLine accepts line breaks (text of several lines: descriptions,
	// comments, notes). CRLF and CR are stored as LF.
	MultiLine bool
}

// Line is a rule for one line of text (names, addresses).
func Line(minChars, maxChars int) Rule { return Rule{Min: minChars, Max: maxChars} }

// Lines is a rule for text of several lines.
func Lines(minChars, maxChars int) Rule { return Rule{Min: minChars, Max: maxChars, MultiLine: true} }

// Error says why a text was refused, in words for the person who typed it.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// Clean returns s as it is stored, or an *Error. The checks run on the
// normalised text, so a character cannot slip through in decomposed form,
// and the length is the length of what is stored.
func (r Rule) Clean(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", &Error{Reason: "must be valid UTF-8 text"}
	}
	if r.MultiLine {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	for _, c := range s {
		if err := r.check(c); err != nil {
			return "", err
		}
	}
	if n := utf8.RuneCountInString(s); n < r.Min || n > r.Max {
		return "", &Error{Reason: r.lengthReason()}
	}
	return s, nil
}

// check refuses one character of the cleaned text.
func (r Rule) check(c rune) error {
	switch {
	case c == '\n' && r.MultiLine:
		return nil
	case c == '\n' || c == '\r':
		return &Error{Reason: "must be one line"}
	case c == utf8.RuneError:
		// What a JSON decoder leaves of invalid UTF-8 or a lone surrogate.
		return &Error{Reason: "must be valid UTF-8 text"}
	case unicode.Is(unicode.Cc, c):
		return &Error{Reason: "must not contain control characters"}
	case unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp):
		// Bidirectional overrides and isolates, zero-width characters,
		// byte order marks and line or paragraph separators change how
		// text around them is shown without being seen themselves.
		return &Error{Reason: "must not contain invisible formatting characters (direction overrides, zero-width characters)"}
	}
	return nil
}

func (r Rule) lengthReason() string {
	if r.Min == 0 {
		return fmt.Sprintf("at most %d characters", r.Max)
	}
	return fmt.Sprintf("%d–%d characters", r.Min, r.Max)
}
