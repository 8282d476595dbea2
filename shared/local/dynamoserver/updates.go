package dynamoserver

import (
	"bytes"
	"regexp"
	"strings"
)

// minidyn's update interpreter ignores REMOVE of a top-level attribute
// (it drops the attribute from its working copy but never from the item),
// so "REMOVE gsi1pk, gsi1sk" leaves both in place. The layer removes them
// from the item the shadow computed, and recomputes the return values that
// depend on the new item.

// updateRequest is the part of an UpdateItem (or a transaction's Update)
// the layer reads.
type updateRequest struct {
	UpdateExpression         string
	ExpressionAttributeNames map[string]string
	ReturnValues             string
}

// updateClause finds where each clause of an update expression starts.
var updateClause = regexp.MustCompile(`(?i)(?:^|[^#:\w])(SET|REMOVE|ADD|DELETE)\b`)

// removedAttributes lists the top-level attributes an update expression's
// REMOVE clause names (nested paths, which minidyn handles, excluded).
func removedAttributes(expr string, names map[string]string) []string {
	bounds := updateClause.FindAllStringSubmatchIndex(expr, -1)
	var out []string
	for i, b := range bounds {
		if !strings.EqualFold(expr[b[2]:b[3]], "REMOVE") {
			continue
		}
		end := len(expr)
		if i+1 < len(bounds) {
			end = bounds[i+1][0]
		}
		for path := range strings.SplitSeq(expr[b[3]:end], ",") {
			path = strings.TrimSpace(path)
			if path == "" || strings.ContainsAny(path, ".[") {
				continue
			}
			if alias, ok := names[path]; ok {
				path = alias
			}
			out = append(out, path)
		}
	}
	return out
}

// applyRemoves removes from img what the update's REMOVE clause names.
func applyRemoves(img item, u updateRequest) item {
	for _, n := range removedAttributes(u.UpdateExpression, u.ExpressionAttributeNames) {
		delete(img, n)
	}
	return img
}

// updateReturnValues recomputes an UpdateItem answer's Attributes from the
// item before (old) and after (img), for the modes that show the new item
// or what changed.
func updateReturnValues(r reply, mode string, old, img item) reply {
	var attrs item
	switch mode {
	case "ALL_NEW":
		attrs = img
	case "UPDATED_NEW":
		attrs = changed(old, img, img)
	case "UPDATED_OLD":
		attrs = changed(old, img, old)
	default:
		return r
	}
	return encodeReply(map[string]item{"Attributes": attrs})
}

// changed returns from's values of the top-level attributes that differ
// between old and img.
func changed(old, img, from item) item {
	out := item{}
	for _, side := range []item{old, img} {
		for n := range side {
			if !bytes.Equal(old[n], img[n]) {
				if v, ok := from[n]; ok {
					out[n] = v
				}
			}
		}
	}
	return out
}
