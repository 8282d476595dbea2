package textfield_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"wxchannel/shared/textfield"
)

func TestCleanRefusesWhatCannotBeSeenAndStoresWhatIsShown(t *testing.T) {
	line, lines := textfield.Line(1, 10), textfield.Lines(0, 10)
	cases := []struct {
		name    string
		rule    textfield.Rule
		in      string
		want    string // "" with refused
		refused bool
	}{
		{"plain text", line, "Li Lei", "Li Lei", false},
		{"trimmed", line, "  Li Lei \t", "Li Lei", false},
		{"Chinese counts in characters", line, strings.Repeat("漢", 10), strings.Repeat("漢", 10), false},
		{"over the limit in characters", line, strings.Repeat("漢", 11), "", true},
		{"normalised to NFC before counting", line, strings.Repeat("e\u0301", 10), strings.Repeat("é", 10), false},
		{"empty after trimming", line, "   ", "", true},
		{"optional may be empty", lines, "", "", false},
		{"NUL", line, "Li\x00Lei", "", true},
		{"ANSI escape", line, "\x1b[31mLi", "", true},
		{"DEL", line, "Li\x7f", "", true},
		{"C1 control", line, "Li\u0085Lei", "", true},
		{"tab inside", line, "Li\tLei", "", true},
		{"line break in one line", line, "Li\nLei", "", true},
		{"carriage return in one line", line, "Li\rLei", "", true},
		{"line breaks where text has lines", lines, "a\r\nb\rc\n", "a\nb\nc", false},
		{"right-to-left override", line, "abc\u202edcba", "", true},
		{"left-to-right embedding", line, "\u202aabc", "", true},
		{"pop directional formatting", line, "abc\u202c", "", true},
		{"first strong isolate", line, "a\u2068b\u2069", "", true},
		{"right-to-left mark", line, "a\u200fb", "", true},
		{"zero-width space", line, "a\u200bb", "", true},
		{"zero-width joiner", line, "a\u200db", "", true},
		{"word joiner", line, "a\u2060b", "", true},
		{"byte order mark", line, "\ufeffab", "", true},
		{"line separator", lines, "a\u2028b", "", true},
		{"invalid UTF-8", line, "a\xffb", "", true},
		{"replacement character of a decoded invalid byte", line, "a\ufffdb", "", true},
		{"emoji with a variation selector", line, "ok \u2764\ufe0f", "ok \u2764\ufe0f", false},
		{"markup is text", lines, "<b>x</b>", "<b>x</b>", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rule.Clean(tc.in)
			if tc.refused {
				if err == nil || err.Error() == "" {
					t.Fatalf("Clean(%q) = %q, want a refusal with a reason", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzClean: whatever is typed, the text stored is valid UTF-8 in NFC,
// trimmed, within its length in characters, with no control or invisible
// formatting character but the line breaks of multi-line text, and
// cleaning it again changes nothing.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"Li Lei", " a\r\nb ", "\u202e漢", "e\u0301", "\x00", "\xff", "a\u200db", "\ufeff", "\u0085x"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, multiLine bool) {
		rule := textfield.Rule{Min: 1, Max: 20, MultiLine: multiLine}
		got, err := rule.Clean(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || strings.TrimSpace(got) != got {
			t.Fatalf("Clean(%q) = %q: not valid, NFC and trimmed", in, got)
		}
		if n := utf8.RuneCountInString(got); n < rule.Min || n > rule.Max {
			t.Fatalf("Clean(%q) = %q of %d characters", in, got, n)
		}
		for _, c := range got {
			if (unicode.In(c, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) && (c != '\n' || !multiLine)) || c == utf8.RuneError {
				t.Fatalf("Clean(%q) kept %U", in, c)
			}
		}
		if again, err := rule.Clean(got); err != nil || again != got {
			t.Fatalf("cleaning %q again gave %q, %v", got, again, err)
		}
	})
}
