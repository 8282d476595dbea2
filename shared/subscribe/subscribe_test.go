package subscribe_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"wxchannel/shared/subscribe"
)

// TestValidTakesWhatWeChatsTableShowsAndRefusesWhatItForbids: each rule's
// examples from WeChat's table pass; values breaking its limits fail with
// the reason a caller can branch on.
func TestValidTakesWhatWeChatsTableShowsAndRefusesWhatItForbids(t *testing.T) {
	long := strings.Repeat
	tests := []struct {
		rule, value string
		want        error
	}{
		{subscribe.Thing, "空调不制冷，需上门检修", nil},
		{subscribe.Thing, long("修", 20), nil},
		{subscribe.Thing, long("修", 21), subscribe.ErrTooLong},
		{subscribe.Thing, long("a", 20), nil},
		{subscribe.Thing, "第一行\n第二行", subscribe.ErrCharacters},
		{subscribe.Thing, "好评🎉", subscribe.ErrCharacters},
		{subscribe.Thing, "", subscribe.ErrEmpty},
		{subscribe.Thing, "   ", subscribe.ErrEmpty},
		{subscribe.Thing, "a\u200db", subscribe.ErrCharacters},
		{subscribe.Thing, "bad \xff byte", subscribe.ErrCharacters},
		{subscribe.Number, "339208499", nil},
		{subscribe.Number, "12.50", nil},
		{subscribe.Number, long("9", 32), nil},
		{subscribe.Number, long("9", 33), subscribe.ErrTooLong},
		{subscribe.Number, "-3", subscribe.ErrCharacters},
		{subscribe.Number, "1.", subscribe.ErrFormat},
		{subscribe.Number, "一二三", subscribe.ErrCharacters},
		{subscribe.Letter, "ABC", nil},
		{subscribe.Letter, "A1", subscribe.ErrCharacters},
		{subscribe.Symbol, "★", nil},
		{subscribe.Symbol, "-_-!!", nil},
		{subscribe.Symbol, "!!!!!!", subscribe.ErrTooLong},
		{subscribe.Symbol, "a", subscribe.ErrCharacters},
		{subscribe.CharacterString, "WO-20240501-0001", nil},
		{subscribe.CharacterString, long("A", 32), nil},
		{subscribe.CharacterString, long("A", 33), subscribe.ErrTooLong},
		{subscribe.CharacterString, "测试单号", subscribe.ErrCharacters},
		{subscribe.CharacterString, "WO 1", subscribe.ErrCharacters},
		{subscribe.Time, "15:01", nil},
		{subscribe.Time, "15:01:59", nil},
		{subscribe.Time, "2019年10月1日 15:01", nil},
		{subscribe.Time, "2019年10月1日15:01", nil},
		{subscribe.Time, "2025年09月10日 17:25", nil},
		{subscribe.Time, "2023-09-12 19:43:07", nil},
		{subscribe.Time, "2024/05/02 14:00~16:00", nil},
		{subscribe.Time, "2024-05-02 14:00~2024-05-03 09:00", nil},
		{subscribe.Time, "2019-10-01", subscribe.ErrFormat},
		{subscribe.Time, "24:00", subscribe.ErrFormat},
		{subscribe.Time, "15:1", subscribe.ErrFormat},
		{subscribe.Time, "2019-02-30 10:00", subscribe.ErrFormat},
		{subscribe.Time, "2019-10-0115:01", subscribe.ErrFormat},
		{subscribe.Time, "明天下午", subscribe.ErrFormat},
		{subscribe.Date, "2019年10月1日", nil},
		{subscribe.Date, "2015年01月05日", nil},
		{subscribe.Date, "2018-01-01", nil},
		{subscribe.Date, "2018/01/01", nil},
		{subscribe.Date, "2018.01.01", nil},
		{subscribe.Date, "2018-01", nil},
		{subscribe.Date, "01-01", nil},
		{subscribe.Date, "10月1日", nil},
		{subscribe.Date, "2019年10月", nil},
		{subscribe.Date, "2019年10月1日 15:01", nil},
		{subscribe.Date, "2019-10-01~2019-10-07", nil},
		{subscribe.Date, "2019-10-01 09:00~11:00", nil},
		{subscribe.Date, "2018-13-01", subscribe.ErrFormat},
		{subscribe.Date, "2018-01/01", subscribe.ErrFormat},
		{subscribe.Date, "15:01", subscribe.ErrFormat},
		{subscribe.Date, "2019-10-01~", subscribe.ErrFormat},
		{subscribe.Amount, "¥99.00", nil},
		{subscribe.Amount, "￥29.90", nil},
		{subscribe.Amount, "$5", nil},
		{subscribe.Amount, "¥120元", nil},
		{subscribe.Amount, "¥1234567890", nil},
		{subscribe.Amount, "¥12345678901", subscribe.ErrTooLong},
		{subscribe.Amount, "99.00", subscribe.ErrFormat},
		{subscribe.Amount, "¥9.999", subscribe.ErrFormat},
		{subscribe.Amount, "¥-5", subscribe.ErrCharacters},
		{subscribe.PhoneNumber, "+86-0766-66888866", nil},
		{subscribe.PhoneNumber, "400-820-8820", nil},
		{subscribe.PhoneNumber, "+86-0766-668888661", subscribe.ErrTooLong},
		{subscribe.PhoneNumber, "138 0013 8000", subscribe.ErrCharacters},
		{subscribe.PhoneNumber, "--", subscribe.ErrFormat},
		{subscribe.CarNumber, "粤A8Z888挂", nil},
		{subscribe.CarNumber, "京A12345", nil},
		{subscribe.CarNumber, "粤A8Z888挂1", subscribe.ErrTooLong},
		{subscribe.CarNumber, "粤A8Z粤88", subscribe.ErrCharacters},
		{subscribe.Name, "张伟", nil},
		{subscribe.Name, "欧阳娜娜", nil},
		{subscribe.Name, "阿卜杜·热合曼", nil},
		{subscribe.Name, "张Wei", nil},
		{subscribe.Name, long("张", 10), nil},
		{subscribe.Name, long("张", 11), subscribe.ErrTooLong},
		{subscribe.Name, "张Weiweiweiwei", subscribe.ErrTooLong},
		{subscribe.Name, "John·Smith", nil},
		{subscribe.Name, long("a", 20), nil},
		{subscribe.Name, long("a", 21), subscribe.ErrTooLong},
		{subscribe.Name, "John Smith", subscribe.ErrCharacters},
		{subscribe.Name, "张三3", subscribe.ErrCharacters},
		{subscribe.Phrase, "配送中", nil},
		{subscribe.Phrase, "待客户确认", nil},
		{subscribe.Phrase, "待客户最终确认", subscribe.ErrTooLong},
		{subscribe.Phrase, "OK", subscribe.ErrCharacters},
		{subscribe.Phrase, "已 完成", subscribe.ErrCharacters},
		{"enum", "x", subscribe.ErrUnknownRule},
		{"", "x", subscribe.ErrUnknownRule},
	}
	for _, tt := range tests {
		err := subscribe.Valid(tt.rule, tt.value)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Valid(%s, %q) = %v, want %v", tt.rule, tt.value, err, tt.want)
		}
		// (A value of a few letters may occur in any message.)
		if err != nil && utf8.RuneCountInString(tt.value) > 3 && strings.Contains(err.Error(), tt.value) {
			t.Errorf("Valid(%s, %q): the error repeats the value: %v", tt.rule, tt.value, err)
		}
	}
}

// TestFormatRepairsWhatItCanAndRefusesToFalsifyTheRest: free text is
// shortened in characters (never bytes), codes and moments are only tidied.
func TestFormatRepairsWhatItCanAndRefusesToFalsifyTheRest(t *testing.T) {
	tests := []struct {
		rule, value, want string
		err               error
	}{
		{subscribe.Thing, "  空调不制冷\n需上门检修  ", "空调不制冷 需上门检修", nil},
		{subscribe.Thing, strings.Repeat("修", 25), strings.Repeat("修", 19) + "…", nil},
		{subscribe.Thing, strings.Repeat("修", 20), strings.Repeat("修", 20), nil},
		{subscribe.Thing, "师傅很专业👍非常满意🎉", "师傅很专业非常满意", nil},
		{subscribe.Thing, "Ｍｉｄｅａ空调", "Midea空调", nil},
		{subscribe.Thing, "冰箱\t异响\r\n\r\n漏水", "冰箱 异响 漏水", nil},
		{subscribe.Thing, "🎉🎉", "", subscribe.ErrEmpty},
		{subscribe.Thing, "", "", subscribe.ErrEmpty},
		{subscribe.Thing, "维修\xff完成", "维修完成", nil},
		{subscribe.Thing, strings.Repeat("ab ", 10), "ab ab ab ab ab ab a…", nil},
		{subscribe.Name, "  张 伟 ", "张伟", nil},
		{subscribe.Name, "John  Smith", "John·Smith", nil},
		{subscribe.Name, "阿卜杜•热合曼", "阿卜杜·热合曼", nil},
		{subscribe.Name, "Christopher Alexander Smith", "Christopher·Alexande", nil},
		{subscribe.Name, "诸葛孔明诸葛孔明诸葛孔明", "诸葛孔明诸葛孔明诸葛", nil},
		{subscribe.Name, "Agent 007", "", subscribe.ErrCharacters},
		{subscribe.CharacterString, " ＷＯ－２０２４ ", "WO-2024", nil},
		{subscribe.CharacterString, strings.Repeat("A", 33), "", subscribe.ErrTooLong},
		{subscribe.Number, "1,234.50", "1234.50", nil},
		{subscribe.PhoneNumber, "138 0013 8000", "13800138000", nil},
		{subscribe.CarNumber, "粤a·8z888 ", "粤A8Z888", nil},
		{subscribe.Time, "2024-05-02　14：00 ～ 16：00", "2024-05-02 14:00~16:00", nil},
		{subscribe.Date, " 2024-05-02 ", "2024-05-02", nil},
		{subscribe.Time, "下午三点", "", subscribe.ErrFormat},
		{subscribe.Amount, "12.50", "¥12.50", nil},
		{subscribe.Amount, "1,200元", "¥1200元", nil},
		{subscribe.Amount, "¥12.5", "¥12.5", nil},
		{subscribe.Phrase, " 已完成 ", "已完成", nil},
		{subscribe.Phrase, "待客户最终确认", "", subscribe.ErrTooLong},
		{subscribe.Symbol, " ★ ", "★", nil},
		{subscribe.Letter, "Ａ", "A", nil},
		{"enum", "x", "", subscribe.ErrUnknownRule},
	}
	for _, tt := range tests {
		got, err := subscribe.Format(tt.rule, tt.value)
		if got != tt.want || tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("Format(%s, %q) = %q, %v; want %q, %v", tt.rule, tt.value, got, err, tt.want, tt.err)
		}
		if err == nil && utf8.RuneCountInString(got) > 32 {
			t.Errorf("Format(%s, %q) = %q: longer than any rule allows", tt.rule, tt.value, got)
		}
	}
}

func TestMomentsAndAmountsAreWrittenAsTheRulesRead(t *testing.T) {
	shanghai := time.FixedZone("Asia/Shanghai", 8*3600)
	at := time.Date(2024, 5, 2, 6, 30, 0, 0, time.UTC) // 14:30 in Shanghai
	if got := subscribe.TimeValue(at, shanghai); got != "2024-05-02 14:30" {
		t.Errorf("TimeValue = %q", got)
	}
	if got := subscribe.DateValue(at.Add(17*time.Hour+30*time.Minute), shanghai); got != "2024-05-03" {
		t.Errorf("DateValue after local midnight = %q", got)
	}
	if got := subscribe.PeriodValue(at, at.Add(2*time.Hour), shanghai); got != "2024-05-02 14:30~16:30" {
		t.Errorf("PeriodValue within a day = %q", got)
	}
	if got := subscribe.PeriodValue(at, at.Add(20*time.Hour), shanghai); got != "2024-05-02 14:30~2024-05-03 10:30" {
		t.Errorf("PeriodValue over midnight = %q", got)
	}
	if got := subscribe.TimeValue(at, nil); got != "2024-05-02 06:30" {
		t.Errorf("TimeValue without a location keeps UTC: %q", got)
	}
	for _, v := range []string{subscribe.TimeValue(at, shanghai), subscribe.PeriodValue(at, at.Add(20*time.Hour), shanghai)} {
		for _, rule := range []string{subscribe.Time, subscribe.Date} {
			if err := subscribe.Valid(rule, v); err != nil {
				t.Errorf("Valid(%s, %q): %v", rule, v, err)
			}
		}
	}
	for fen, want := range map[int64]string{0: "¥0.00", 5: "¥0.05", 12050: "¥120.50", 99999999_99: "¥99999999.99"} {
		if got, err := subscribe.AmountValue(fen); got != want || err != nil {
			t.Errorf("AmountValue(%d) = %q, %v; want %q", fen, got, err, want)
		}
	}
	if _, err := subscribe.AmountValue(-1); !errors.Is(err, subscribe.ErrFormat) {
		t.Errorf("a negative amount: %v", err)
	}
	if _, err := subscribe.AmountValue(1_000_000_000_00); !errors.Is(err, subscribe.ErrTooLong) {
		t.Errorf("an amount of 11 digits: %v", err)
	}
}

func TestTemplateContentNamesItsKeywordsAndTheirRules(t *testing.T) {
	content := "工单编号:{{character_string1.DATA}}\n服务进度：{{phrase2.DATA}}\n预约时间: {{time4.DATA}}\n说明:{{enum7.DATA}}\n{{thing5.DATA}}\n坏的:{{thing6.DATA\n"
	want := []subscribe.Field{
		{Label: "工单编号", Key: "character_string1", Rule: subscribe.CharacterString},
		{Label: "服务进度", Key: "phrase2", Rule: subscribe.Phrase},
		{Label: "预约时间", Key: "time4", Rule: subscribe.Time},
		{Label: "说明", Key: "enum7", Rule: ""},
		{Label: "", Key: "thing5", Rule: subscribe.Thing},
	}
	got := subscribe.Fields(content)
	if len(got) != len(want) {
		t.Fatalf("Fields = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for key, rule := range map[string]string{"thing1": subscribe.Thing, "character_string21": subscribe.CharacterString,
		"number01": subscribe.Number, "thing": "", "1": "", "site01": "", "": ""} {
		if got := subscribe.RuleOf(key); got != rule {
			t.Errorf("RuleOf(%q) = %q, want %q", key, got, rule)
		}
	}
}
