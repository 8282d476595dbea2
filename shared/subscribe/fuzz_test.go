package subscribe_test

import (
	"testing"

	"wxchannel/shared/subscribe"
)

var allRules = []string{
	subscribe.Thing, subscribe.Number, subscribe.Letter, subscribe.Symbol, subscribe.CharacterString, subscribe.Time,
	subscribe.Date, subscribe.Amount, subscribe.PhoneNumber, subscribe.CarNumber, subscribe.Name, subscribe.Phrase,
}

// FuzzFormatOutputPassesValid: whatever text a customer or an engineer
// typed, Format gives either an error or a value WeChat's rules accept,
// and formatting that value again changes nothing.
func FuzzFormatOutputPassesValid(f *testing.F) {
	for _, seed := range []string{
		"空调不制冷，需上门检修", "师傅很专业👍非常满意🎉", "第一行\n第二行", "", " ", "\xff\xfe", "a\u200db",
		"2019年10月1日 15:01", "2024-05-02 14:00~16:00", "¥99.00", "12.50", "+86-0766-66888866", "粤A·8Z888挂",
		"John  Smith", "阿卜杜•热合曼", "ＷＯ－２０２４", "1,234.5", "配送中", "★", "2019-02-30", "9999-12-31 23:59:59",
	} {
		for i := range allRules {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		rule := allRules[int(which)%len(allRules)]
		out, err := subscribe.Format(rule, value)
		if err != nil {
			return
		}
		if verr := subscribe.Valid(rule, out); verr != nil {
			t.Fatalf("Format(%s, %q) = %q, which Valid refuses: %v", rule, value, out, verr)
		}
		if again, err := subscribe.Format(rule, out); err != nil || again != out {
			t.Fatalf("Format(%s) is not stable: %q → %q → %q, %v", rule, value, out, again, err)
		}
	})
}

// FuzzFields: a template's content comes from WeChat; reading it never
// panics and every field it finds has a key.
func FuzzFields(f *testing.F) {
	for _, seed := range []string{
		"工单编号:{{character_string1.DATA}}\n服务进度：{{phrase2.DATA}}\n", "{{", "}}{{.DATA}}", "a:{{x.DATA}}{{thing2.DATA}}",
		"{{thing1.DATA", "\n\n", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		for _, field := range subscribe.Fields(content) {
			if field.Key == "" {
				t.Fatalf("a field without a key in %q", content)
			}
			if field.Rule != "" && !subscribe.Known(field.Rule) {
				t.Fatalf("field %+v names an unknown rule", field)
			}
		}
	})
}
