package workorder

import (
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
)

// Cursors are opaque to clients but bound to the user: a cursor of another
// user's list is refused. Every key attribute is a string.
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

func decodeCursor(s, tenantID, userID string) (dynamo.PagingKey, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 2048 {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	var plain map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil || len(plain) != 4 {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	if plain["gsi1pk"] != userOrdersPK(tenantID, userID) {
		return nil, apperr.InvalidField("cursor", "not a cursor of your list")
	}
	k := dynamo.PagingKey{}
	for _, name := range []string{"pk", "sk", "gsi1pk", "gsi1sk"} {
		v, ok := plain[name]
		if !ok {
			return nil, apperr.InvalidField("cursor", "malformed")
		}
		k[name] = &types.AttributeValueMemberS{Value: v}
	}
	return k, nil
}
