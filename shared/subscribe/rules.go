// Package subscribe holds WeChat's rules for the values of subscribe-message
// keywords (thing, number, time, phrase, ...): Valid says whether WeChat
// takes a value, Format shapes one so that it does. The product sends what
// these rules allow and the WeChat simulator refuses what they refuse, so
// the rules are written once.
//
// The rules are the table "订阅消息参数值内容限制说明" of
// https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html.
// Where the table leaves a case open (an emoji in a thing, a space in a
// name, an amount without a currency sign), Valid takes the stricter
// reading, so that a value it accepts is one WeChat accepts too.
package subscribe

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The keyword rules (WeChat calls them the keyword's "rule" or parameter
// type; a keyword key is its rule followed by a number, e.g. thing1).
const (
	Thing           = "thing"
	Number          = "number"
	Letter          = "letter"
	Symbol          = "symbol"
	CharacterString = "character_string"
	Time            = "time"
	Date            = "date"
	Amount          = "amount"
	PhoneNumber     = "phone_number"
	CarNumber       = "car_number"
	Name            = "name"
	Phrase          = "phrase"
)

// Why a value is refused. Errors wrap one of these with the rule's name;
// they never repeat the value, which may be a person's name or number.
var (
	ErrUnknownRule = errors.New("unknown keyword rule")
	ErrEmpty       = errors.New("empty value")
	ErrTooLong     = errors.New("value too long for its rule")
	ErrCharacters  = errors.New("value has characters its rule does not allow")
	ErrFormat      = errors.New("value is not in its rule's format")
)

// Character limits of the rules, counted in characters (runes).
const (
	maxThing           = 20
	maxNumber          = 32
	maxLetter          = 32
	maxSymbol          = 5
	maxCharacterString = 32
	maxPhoneNumber     = 17
	maxCarNumber       = 8
	maxHanName         = 10
	maxLatinName       = 20
	maxPhrase          = 5
	// maxAmountDigits bounds the digits of an amount, fraction included.
	maxAmountDigits = 10
)

// ellipsis ends a thing that Format shortened; it is one character.
const ellipsis = "…"

// rule is one keyword rule: its check and how Format prepares a value for
// it (the check runs after).
type rule struct {
	check   func(string) error
	prepare func(string) string
}

var rules = map[string]rule{
	Thing:           {check: checkThing, prepare: prepareThing},
	Number:          {check: checkNumber, prepare: prepareNumber},
	Letter:          {check: checkLetter, prepare: prepareCode},
	Symbol:          {check: checkSymbol, prepare: strings.TrimSpace},
	CharacterString: {check: checkCharacterString, prepare: prepareCode},
	Time:            {check: checkTime, prepare: prepareMoment},
	Date:            {check: checkDate, prepare: prepareMoment},
	Amount:          {check: checkAmount, prepare: prepareAmount},
	PhoneNumber:     {check: checkPhoneNumber, prepare: preparePhoneNumber},
	CarNumber:       {check: checkCarNumber, prepare: prepareCarNumber},
	Name:            {check: checkName, prepare: prepareName},
	Phrase:          {check: checkPhrase, prepare: removeSpaces},
}

// Known reports whether rule is a rule this package knows.
func Known(rule string) bool {
	_, ok := rules[rule]
	return ok
}

// Valid returns nil when WeChat accepts value for a keyword of rule, or an
// error wrapping ErrUnknownRule, ErrEmpty, ErrTooLong, ErrCharacters or
// ErrFormat. An empty (or all-space) value is refused for every rule:
// WeChat answers 47003 for it.
func Valid(rule, value string) error {
	r, ok := rules[rule]
	if !ok {
		return fmt.Errorf("keyword rule %q: %w", rule, ErrUnknownRule)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("keyword rule %s: %w", rule, ErrCharacters)
	}
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("keyword rule %s: %w", rule, ErrEmpty)
	}
	if err := r.check(value); err != nil {
		return fmt.Errorf("keyword rule %s: %w", rule, err)
	}
	return nil
}

// Format returns value shaped so that WeChat accepts it for rule, or the
// error Valid gives for what it could not repair. It trims, turns
// full-width letters and digits into ASCII and drops what a rule can do
// without (line breaks and emoji in a thing, spaces in a phone number or a
// plate). It shortens only free text: a thing to 19 characters and "…", a
// name to its limit. Every other rule carries a code, a number, a moment or
// a status word that a cut would falsify, so a value too long for it is an
// error.
func Format(rule, value string) (string, error) {
	r, ok := rules[rule]
	if !ok {
		return "", fmt.Errorf("keyword rule %q: %w", rule, ErrUnknownRule)
	}
	out := r.prepare(strings.ToValidUTF8(value, ""))
	if err := Valid(rule, out); err != nil {
		return "", err
	}
	return out, nil
}

// Character classes. Digits and letters are ASCII; Han characters and
// symbols are those of the Basic Multilingual Plane, because whether WeChat
// counts a character beyond it (an emoji, a rare ideograph) as one or two
// is not documented.

func isDigit(c rune) bool { return c >= '0' && c <= '9' }

func isLatin(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isHan(c rune) bool { return c <= 0xFFFF && unicode.Is(unicode.Han, c) }

// isSymbol is WeChat's 符号: a common sign that is neither Chinese, a
// letter nor a digit (punctuation and symbols; never a space or a control
// character).
func isSymbol(c rune) bool { return c <= 0xFFFF && (unicode.IsPunct(c) || unicode.IsSymbol(c)) }

// isASCIISymbol is a symbol of ASCII: what codes and phone numbers carry.
func isASCIISymbol(c rune) bool { return c < utf8.RuneSelf && isSymbol(c) }

// onlyAndAtMost checks that every character of s passes allowed and that s
// has at most limit of them.
func onlyAndAtMost(s string, limit int, allowed func(rune) bool) error {
	n := 0
	for _, c := range s {
		if !allowed(c) {
			return ErrCharacters
		}
		n++
	}
	if n > limit {
		return ErrTooLong
	}
	return nil
}

// checkThing: at most 20 characters of any kind ("可汉字、数字、字母或符号组合"),
// on one line, without control or invisible formatting characters.
func checkThing(s string) error {
	return onlyAndAtMost(s, maxThing, func(c rune) bool { return c <= 0xFFFF && unicode.IsPrint(c) })
}

// checkNumber: digits with an optional decimal part, at most 32 characters.
func checkNumber(s string) error {
	whole, fraction, hasPoint := strings.Cut(s, ".")
	if whole == "" || hasPoint && fraction == "" {
		return ErrFormat
	}
	if err := onlyAndAtMost(whole+fraction, maxNumber, isDigit); err != nil {
		return err
	}
	if len(s) > maxNumber {
		return ErrTooLong
	}
	return nil
}

func checkLetter(s string) error { return onlyAndAtMost(s, maxLetter, isLatin) }

func checkSymbol(s string) error { return onlyAndAtMost(s, maxSymbol, isSymbol) }

func checkCharacterString(s string) error {
	return onlyAndAtMost(s, maxCharacterString, func(c rune) bool { return isDigit(c) || isLatin(c) || isASCIISymbol(c) })
}

// checkPhoneNumber: digits and signs (+86-0766-66888866), at most 17.
func checkPhoneNumber(s string) error {
	if !strings.ContainsFunc(s, isDigit) {
		return ErrFormat
	}
	return onlyAndAtMost(s, maxPhoneNumber, func(c rune) bool { return isDigit(c) || isASCIISymbol(c) })
}

// checkCarNumber: at most 8 characters, letters and digits, of which only
// the first and the last may be Chinese (粤A8Z888挂).
func checkCarNumber(s string) error {
	chars := []rune(s)
	if len(chars) > maxCarNumber {
		return ErrTooLong
	}
	for i, c := range chars {
		end := i == 0 || i == len(chars)-1
		if allowed := isDigit(c) || isLatin(c) || end && isHan(c); !allowed {
			return ErrCharacters
		}
	}
	return nil
}

// middleDot joins the parts of a name ("约翰·史密斯", "John·Smith").
const middleDot = '·'

// checkName: at most 10 Chinese characters, or at most 20 letters and
// symbols; a name mixing both counts as Chinese. Neither digits nor spaces.
func checkName(s string) error {
	if strings.ContainsFunc(s, isHan) {
		return onlyAndAtMost(s, maxHanName, func(c rune) bool { return isHan(c) || isLatin(c) || c == middleDot })
	}
	return onlyAndAtMost(s, maxLatinName, func(c rune) bool { return isLatin(c) || isSymbol(c) })
}

// checkPhrase: at most 5 Chinese characters and nothing else (配送中).
func checkPhrase(s string) error { return onlyAndAtMost(s, maxPhrase, isHan) }

// currencySigns are the one-character currency signs an amount may start
// with.
const currencySigns = "¥￥$€£"

// checkAmount: one currency sign, at most 10 digits with an optional
// decimal part of one or two, and optionally 元 at the end (¥99.00). The
// table says "1个币种符号+10位以内纯数字"; a value without the sign is
// refused, the stricter reading.
func checkAmount(s string) error {
	s = strings.TrimSuffix(s, "元")
	sign, size := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(currencySigns, sign) {
		return ErrFormat
	}
	whole, fraction, hasPoint := strings.Cut(s[size:], ".")
	if whole == "" || hasPoint && (fraction == "" || len(fraction) > 2) {
		return ErrFormat
	}
	return onlyAndAtMost(whole+fraction, maxAmountDigits, isDigit)
}
