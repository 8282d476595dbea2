package subscribe

import "strings"

// Field is one keyword of a template, as its content names it: the label
// shown to the user, the key a send fills ("thing1") and the key's rule.
type Field struct {
	Label string
	Key   string
	// Rule is "" when the key names no rule this package knows.
	Rule string
}

// RuleOf is the rule a keyword key names: a key is the rule followed by
// the keyword's number (thing1, character_string21). It is "" for a key of
// another shape or of a rule this package does not know.
func RuleOf(key string) string {
	rule := strings.TrimRight(key, "0123456789")
	if rule == key || !Known(rule) {
		return ""
	}
	return rule
}

// Fields reads the keywords of a template's content, as gettemplate
// answers it: one line per keyword, "label:{{key.DATA}}".
func Fields(content string) []Field {
	var out []Field
	for line := range strings.SplitSeq(content, "\n") {
		for {
			open := strings.Index(line, "{{")
			if open < 0 {
				break
			}
			label := line[:open]
			inner, rest, closed := strings.Cut(line[open+len("{{"):], "}}")
			if !closed {
				break
			}
			if key, ok := strings.CutSuffix(inner, ".DATA"); ok && key != "" {
				out = append(out, Field{Label: cleanLabel(label), Key: key, Rule: RuleOf(key)})
			}
			line = rest
		}
	}
	return out
}

// cleanLabel drops the colon (ASCII or Chinese) and spaces around a label.
func cleanLabel(s string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ":："))
}
