package subscribe

import (
	"strings"
	"time"
	"unicode/utf8"
)

// The time and date rules. WeChat's table: time is a 24-hour time of day,
// optionally after a date (15:01, 2019年10月1日 15:01); date is a date,
// optionally followed by a time of day. A date is year-month-day, year-month
// or month-day, written with 年月日 or joined by "-", "/" or "." (2018-01-01,
// 2018/01/01, 2018.01.01, 2018-01, 01-01); a time of day is HH:MM or
// HH:MM:SS. Either may be a period: two of them joined by "~".

// Layouts of the values TimeValue, DateValue and PeriodValue make.
const (
	layoutDate     = "2006-01-02"
	layoutClock    = "15:04"
	layoutDateTime = layoutDate + " " + layoutClock
)

// TimeValue is t as a time or date keyword shows it: "2006-01-02 15:04" in
// loc (people in China read Asia/Shanghai). A nil loc keeps t's own.
func TimeValue(t time.Time, loc *time.Location) string {
	return in(t, loc).Format(layoutDateTime)
}

// DateValue is t's day as a date keyword shows it: "2006-01-02" in loc.
func DateValue(t time.Time, loc *time.Location) string {
	return in(t, loc).Format(layoutDate)
}

// PeriodValue is the period from..to as a time or date keyword shows it:
// "2006-01-02 14:00~16:00" within one day of loc, else both ends in full.
func PeriodValue(from, to time.Time, loc *time.Location) string {
	from, to = in(from, loc), in(to, loc)
	if from.Format(layoutDate) == to.Format(layoutDate) {
		return from.Format(layoutDateTime) + "~" + to.Format(layoutClock)
	}
	return from.Format(layoutDateTime) + "~" + to.Format(layoutDateTime)
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t
	}
	return t.In(loc)
}

// checkTime: a time of day, after a full date or alone, or a period of two.
func checkTime(s string) error { return period(s, timePoint) }

// checkDate: a date (full, year-month or month-day), optionally with a
// time of day, or a period of two; a period may end with a time of day
// alone (2019-10-01 09:00~11:00).
func checkDate(s string) error {
	return period(s, datePoint)
}

// period checks s as one point or two joined by "~"; the second may also
// be a time of day alone.
func period(s string, point func(string) bool) error {
	first, second, isPeriod := strings.Cut(s, "~")
	if !point(first) {
		return ErrFormat
	}
	if isPeriod && !point(second) && !clockOnly(second) {
		return ErrFormat
	}
	return nil
}

// timePoint is a time of day alone or after a full date and a space (a
// date ending in 日 needs no space).
func timePoint(s string) bool {
	if clockOnly(s) {
		return true
	}
	form, rest, ok := cutDate(s)
	if !ok || form != fullDate {
		return false
	}
	rest, ok = afterDate(s, rest)
	return ok && clockOnly(rest)
}

// datePoint is a date, optionally followed by a time of day.
func datePoint(s string) bool {
	_, rest, ok := cutDate(s)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	rest, ok = afterDate(s, rest)
	return ok && clockOnly(rest)
}

// afterDate strips the space between a date and a time of day; after 日
// the space may be left out.
func afterDate(whole, rest string) (string, bool) {
	if r, ok := strings.CutPrefix(rest, " "); ok {
		return r, true
	}
	return rest, strings.HasSuffix(whole[:len(whole)-len(rest)], "日")
}

func clockOnly(s string) bool {
	rest, ok := cutClock(s)
	return ok && rest == ""
}

// cutClock reads H:MM or H:MM:SS of a 24-hour clock from the start of s.
func cutClock(s string) (string, bool) {
	h, _, s, ok := cutNumber(s, 2)
	if !ok || h > 23 {
		return s, false
	}
	for i := range 2 {
		rest, found := strings.CutPrefix(s, ":")
		if !found {
			return s, i == 1
		}
		v, digits, r, ok := cutNumber(rest, 2)
		if !ok || digits != 2 || v > 59 {
			return s, false
		}
		s = r
	}
	return s, true
}

// dateForm is which parts a date has.
type dateForm int

const (
	fullDate dateForm = iota + 1
	yearMonth
	monthDay
)

// cutDate reads a date from the start of s: 2019年10月1日, 2019年10月,
// 10月1日, or with "-", "/" or "." between the parts.
func cutDate(s string) (dateForm, string, bool) {
	first, digits, rest, ok := cutNumber(s, 4)
	if !ok {
		return 0, s, false
	}
	if r, found := strings.CutPrefix(rest, "年"); found && digits == 4 {
		return hanDate(first, r)
	}
	if r, found := strings.CutPrefix(rest, "月"); found && digits <= 2 {
		day, _, r, ok := cutNumber(r, 2)
		r, found = strings.CutPrefix(r, "日")
		return monthDay, r, ok && found && validDate(leapYear, first, day)
	}
	return joinedDate(first, digits, rest)
}

// leapYear stands in for the year of a date without one: any day of a
// year, 29 February included, is a day of it.
const leapYear = 2000

// hanDate reads the rest of 2019年10月1日 (or 2019年10月) after 年.
func hanDate(year int, s string) (dateForm, string, bool) {
	month, _, s, ok := cutNumber(s, 2)
	s, found := strings.CutPrefix(s, "月")
	if !ok || !found {
		return 0, s, false
	}
	day, _, rest, ok := cutNumber(s, 2)
	if !ok {
		return yearMonth, s, validDate(year, month, 1)
	}
	rest, found = strings.CutPrefix(rest, "日")
	return fullDate, rest, found && validDate(year, month, day)
}

// joinedDate reads the rest of a date whose parts are joined by "-", "/"
// or "." after its first number (of digits digits): 2018-01-01, 2018-01 or
// 01-01.
func joinedDate(first, digits int, s string) (dateForm, string, bool) {
	sep, size := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune("-/.", sep) {
		return 0, s, false
	}
	second, _, rest, ok := cutNumber(s[size:], 2)
	switch {
	case !ok:
		return 0, s, false
	case digits <= 2:
		return monthDay, rest, validDate(leapYear, first, second)
	case digits != 4:
		return 0, s, false
	}
	r, found := strings.CutPrefix(rest, string(sep))
	if !found {
		return yearMonth, rest, validDate(first, second, 1)
	}
	day, _, r, ok := cutNumber(r, 2)
	return fullDate, r, ok && validDate(first, second, day)
}

// validDate reports whether year-month-day is a day of the calendar.
func validDate(year, month, day int) bool {
	if year < 1 || month < 1 || month > 12 || day < 1 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day && int(t.Month()) == month
}

// cutNumber reads 1 to maxDigits ASCII digits from the start of s.
func cutNumber(s string, maxDigits int) (value, digits int, rest string, ok bool) {
	for digits < len(s) && digits < maxDigits && isDigit(rune(s[digits])) {
		value = value*10 + int(s[digits]-'0')
		digits++
	}
	return value, digits, s[digits:], digits > 0
}
