package device

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
)

// Cursors are opaque to clients but bound to the list they came from: a
// cursor whose partition is not the caller's list is refused, so a cursor
// can never reach another tenant's or another device's items. Every key
// attribute is a string.

func encodeCursor(k dynamo.PagingKey) string {
	if k == nil {
		return ""
	}
	plain := map[string]string{}
	for name, v := range k {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			plain[name] = sv.Value
		}
	}
	raw, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor reads a cursor of a query whose key attributes are names
// and whose partition attribute bound (one of names) is want.
func decodeCursor(s, bound, want string, names ...string) (dynamo.PagingKey, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 2048 {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	var plain map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil || !slices.Equal(slices.Sorted(maps.Keys(plain)), slices.Sorted(slices.Values(names))) {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	if plain[bound] != want {
		return nil, apperr.InvalidField("cursor", "not a cursor of this list")
	}
	k := dynamo.PagingKey{}
	for name, v := range plain {
		k[name] = &types.AttributeValueMemberS{Value: v}
	}
	return k, nil
}
