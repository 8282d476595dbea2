package dynamoserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"

	miniserver "github.com/truora/minidyn/server"
	minitypes "github.com/truora/minidyn/types"
)

// item is an item, a key or a map of expression values as DynamoDB JSON
// carries it: attribute name → one attribute value such as {"S":"x"}. The
// values stay raw so that what the layer forwards is byte for byte what the
// client sent.
type item map[string]json.RawMessage

// keyRequest and itemRequest are the layer's own GetItem, DeleteItem and
// PutItem requests.
type (
	keyRequest struct {
		TableName      string
		Key            item
		ConsistentRead bool `json:",omitempty"`
	}
	itemRequest struct {
		TableName string
		Item      item
	}
)

// reply is an answer to one request: an HTTP status and a JSON body.
type reply struct {
	status int
	body   []byte
}

func (r reply) ok() bool { return r.status == http.StatusOK }

// write sends r to the client.
func (r reply) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// call sends one request to a minidyn handler in-process and returns its
// answer. in is the JSON body ([]byte) or a value to encode.
func call(h http.Handler, op string, in any) reply {
	body, ok := in.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return validation("cannot encode request: " + err.Error()).reply()
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{status: rec.Code, body: rec.Body.Bytes()}
}

// scalar is a key attribute's value: its type (S, N or B) and a canonical
// text, equal for values DynamoDB treats as the same key ("1" and "1.0").
type scalar struct {
	typ, text string
}

// empty reports an empty string or binary, which DynamoDB refuses in keys.
func (s scalar) empty() bool { return (s.typ == "S" || s.typ == "B") && s.text == "" }

// valueOf splits an attribute value into its type and payload; ok is false
// when raw is not a single-typed value.
func valueOf(raw json.RawMessage) (typ string, payload json.RawMessage, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) != 1 {
		return "", nil, false
	}
	for typ, payload = range m {
		return typ, payload, true
	}
	return "", nil, false
}

// scalarOf reads a string, number or binary attribute value.
func scalarOf(raw json.RawMessage) (scalar, bool) {
	typ, payload, ok := valueOf(raw)
	if !ok {
		return scalar{}, false
	}
	var text string
	if json.Unmarshal(payload, &text) != nil {
		return scalar{}, false
	}
	switch typ {
	case "S":
		return scalar{typ, text}, true
	case "N":
		if r, ok := new(big.Rat).SetString(strings.TrimSpace(text)); ok {
			text = r.RatString()
		}
		return scalar{typ, text}, true
	case "B":
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return scalar{}, false
		}
		return scalar{typ, string(b)}, true
	}
	return scalar{}, false
}

// pick returns the named attributes of it that are present.
func (it item) pick(names ...string) item {
	out := item{}
	for _, n := range names {
		if v, ok := it[n]; ok && n != "" {
			out[n] = v
		}
	}
	return out
}

// clone returns a shallow copy of it.
func (it item) clone() item { return maps.Clone(it) }

// decodeItem reads a JSON object of attribute values; a missing or null
// value gives nil.
func decodeItem(raw json.RawMessage) (item, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var it item
	if err := json.Unmarshal(raw, &it); err != nil {
		return nil, err
	}
	return it, nil
}

// toMini converts an item to minidyn's expression interpreter types.
func toMini(it item) (map[string]*minitypes.Item, error) {
	out := make(map[string]*minitypes.Item, len(it))
	for name, raw := range it {
		var av miniserver.AttributeValue
		if err := json.Unmarshal(raw, &av); err != nil {
			return nil, err
		}
		out[name] = miniValue(&av)
	}
	return out, nil
}

func miniValue(av *miniserver.AttributeValue) *minitypes.Item {
	if av == nil {
		return nil
	}
	v := &minitypes.Item{B: av.B, BOOL: av.BOOL, BS: av.BS, N: av.N, NS: av.NS, NULL: av.NULL, S: av.S, SS: av.SS}
	if av.L != nil {
		v.L = make([]*minitypes.Item, len(av.L))
		for i, e := range av.L {
			v.L[i] = miniValue(e)
		}
	}
	if av.M != nil {
		v.M = make(map[string]*minitypes.Item, len(av.M))
		for k, e := range av.M {
			v.M[k] = miniValue(e)
		}
	}
	return v
}

// fromMini converts an interpreter result back to DynamoDB JSON, keeping
// empty lists and maps (which minidyn's own encoder drops).
func fromMini(m map[string]*minitypes.Item) item {
	out := make(item, len(m))
	for name, v := range m {
		out[name] = wireValue(v)
	}
	return out
}

func wireValue(v *minitypes.Item) json.RawMessage {
	var x any
	switch {
	case v == nil:
		x = map[string]bool{"NULL": true}
	case v.S != nil:
		x = map[string]string{"S": *v.S}
	case v.N != nil:
		x = map[string]string{"N": *v.N}
	case v.B != nil:
		x = map[string][]byte{"B": v.B}
	case v.BOOL != nil:
		x = map[string]bool{"BOOL": *v.BOOL}
	case v.NULL != nil:
		x = map[string]bool{"NULL": *v.NULL}
	case v.SS != nil:
		x = map[string][]*string{"SS": v.SS}
	case v.NS != nil:
		x = map[string][]*string{"NS": v.NS}
	case v.BS != nil:
		x = map[string][][]byte{"BS": v.BS}
	case v.M != nil:
		x = map[string]item{"M": fromMini(v.M)}
	default:
		list := make([]json.RawMessage, len(v.L))
		for i, e := range v.L {
			list[i] = wireValue(e)
		}
		x = map[string][]json.RawMessage{"L": list}
	}
	raw, _ := json.Marshal(x)
	return raw
}
