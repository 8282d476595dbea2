package dynamoserver

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// DynamoDB's size limits, in bytes.
const (
	maxItemBytes        = 400 * 1024       // one item; 409,600 is accepted, one byte more is not
	maxTransactionBytes = 4 * 1024 * 1024  // the aggregate of one transaction's items
	maxPageBytes        = 1024 * 1024      // the data one Query or Scan page reads
	maxBatchGetBytes    = 16 * 1024 * 1024 // one BatchGetItem response
)

// itemSize is an item's size by DynamoDB's rules ("Item sizes and formats"):
// each attribute's name in UTF-8 plus its value's size.
func itemSize(it item) int {
	n := 0
	for name, raw := range it {
		n += len(name) + valueSize(raw)
	}
	return n
}

// valueSize is one attribute value's size: strings their UTF-8 length,
// binaries their decoded length, numbers by significant digits, booleans
// and nulls one byte, sets the sum of their members, and lists and maps
// three bytes plus one per element on top of the elements (and, for maps,
// their names). A value minidyn garbled counts as nothing.
func valueSize(raw json.RawMessage) int {
	typ, payload, ok := valueOf(raw)
	if !ok {
		return 0
	}
	switch typ {
	case "S", "N", "B":
		var s string
		_ = json.Unmarshal(payload, &s)
		return scalarSize(typ, s)
	case "SS", "NS", "BS":
		var members []string
		_ = json.Unmarshal(payload, &members)
		n := 0
		for _, m := range members {
			n += scalarSize(typ[:1], m)
		}
		return n
	case "L":
		var list []json.RawMessage
		_ = json.Unmarshal(payload, &list)
		n := 3
		for _, e := range list {
			n += 1 + valueSize(e)
		}
		return n
	case "M":
		var m item
		_ = json.Unmarshal(payload, &m)
		return 3 + len(m) + itemSize(m)
	default: // BOOL, NULL
		return 1
	}
}

func scalarSize(typ, s string) int {
	switch typ {
	case "N":
		return numberSize(s)
	case "B":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return len(s)
		}
		return len(b)
	default:
		return len(s) // Go strings are UTF-8: this is the UTF-8 length
	}
}

var numberLiteral = regexp.MustCompile(`^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$`)

// numberSize is a number's size as DynamoDB measures it: one byte, plus a
// byte per two significant digits of the integer part and of the fraction
// (each rounded up), plus one if negative. Zero is one byte. (AWS's guide
// says "one byte per two significant digits, plus one"; public captures
// against DynamoDB show the halves are counted apart, which this follows.)
func numberSize(literal string) int {
	m := numberLiteral.FindStringSubmatch(strings.TrimSpace(literal))
	if len(m) < 5 || m[2]+m[3] == "" {
		return len(literal)
	}
	digits := m[2] + m[3]
	if strings.Trim(digits, "0") == "" {
		return 1
	}
	exp, _ := strconv.Atoi(m[4])
	point := len(m[2]) + exp
	var intPart, fracPart string
	switch {
	case point <= 0:
		fracPart = strings.Repeat("0", -point) + digits
	case point >= len(digits):
		intPart = digits + strings.Repeat("0", point-len(digits))
	default:
		intPart, fracPart = digits[:point], digits[point:]
	}
	intPart = strings.TrimLeft(intPart, "0")
	fracPart = strings.TrimRight(fracPart, "0")
	intDigits, fracDigits := len(intPart), len(fracPart)
	if fracPart == "" {
		intDigits = len(strings.TrimRight(intPart, "0"))
	}
	if intPart == "" {
		fracDigits = len(strings.TrimLeft(fracPart, "0"))
	}
	n := 1 + (intDigits+1)/2 + (fracDigits+1)/2
	if m[1] == "-" {
		n++
	}
	return n
}
