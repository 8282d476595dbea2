package dynamofault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// batch sends a BatchGetItem or BatchWriteItem without the sub-requests a
// matcher leaves unprocessed, and adds those to the answer's
// UnprocessedKeys or UnprocessedItems.
func (in *Injector) batch(req *http.Request, op string, body []byte) (*http.Response, error) {
	var r struct {
		RequestItems map[string]json.RawMessage `json:"RequestItems"`
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &r) != nil || json.Unmarshal(body, &all) != nil {
		return in.next.Do(req)
	}
	kept, left, err := in.split(op, r.RequestItems)
	if err != nil || len(left) == 0 {
		return in.next.Do(req)
	}
	leftKey := map[string]string{opBatchGet: "UnprocessedKeys", opBatchWrite: "UnprocessedItems"}[op]
	if len(kept) == 0 {
		// Nothing left to send: DynamoDB answers with everything unprocessed.
		return jsonResponse(req, http.StatusOK, map[string]any{leftKey: left}), nil
	}
	if all["RequestItems"], err = json.Marshal(kept); err != nil {
		return nil, err
	}
	sent, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	setBody(req, sent)
	resp, err := in.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	return mergeUnprocessed(resp, leftKey, left)
}

// split divides each table's sub-requests into those to send and those to
// leave unprocessed, in the request's own shape.
func (in *Injector) split(op string, items map[string]json.RawMessage) (kept, left map[string]any, err error) {
	kept, left = map[string]any{}, map[string]any{}
	for table, raw := range items {
		in.mu.Lock()
		m := in.unprocessed[table]
		in.mu.Unlock()
		if m == nil {
			kept[table] = raw
			continue
		}
		var k, l any
		if op == opBatchGet {
			k, l, err = in.splitGets(m, raw)
		} else {
			k, l, err = in.splitWrites(m, raw)
		}
		if err != nil {
			return nil, nil, err
		}
		if k != nil {
			kept[table] = k
		}
		if l != nil {
			left[table] = l
		}
	}
	return kept, left, nil
}

// pick runs the matcher over one sub-request.
func (in *Injector) pick(m *matcher, key map[string]any) bool {
	in.mu.Lock()
	m.n++
	n := m.n
	in.mu.Unlock()
	return m.match(n, key)
}

// splitGets splits one table's KeysAndAttributes.
func (in *Injector) splitGets(m *matcher, raw json.RawMessage) (kept, left any, err error) {
	var ka map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ka); err != nil {
		return nil, nil, fmt.Errorf("batch get keys: %w", err)
	}
	var keys []map[string]any
	if err := json.Unmarshal(ka["Keys"], &keys); err != nil {
		return nil, nil, fmt.Errorf("batch get keys: %w", err)
	}
	var keep, leave []map[string]any
	for _, k := range keys {
		if in.pick(m, k) {
			leave = append(leave, k)
		} else {
			keep = append(keep, k)
		}
	}
	with := func(keys []map[string]any) any {
		if len(keys) == 0 {
			return nil
		}
		out := map[string]any{}
		for name, v := range ka {
			out[name] = v
		}
		out["Keys"] = keys
		return out
	}
	return with(keep), with(leave), nil
}

// splitWrites splits one table's write requests.
func (in *Injector) splitWrites(m *matcher, raw json.RawMessage) (kept, left any, err error) {
	var writes []struct {
		PutRequest *struct {
			Item map[string]any `json:"Item"`
		} `json:"PutRequest,omitempty"`
		DeleteRequest *struct {
			Key map[string]any `json:"Key"`
		} `json:"DeleteRequest,omitempty"`
	}
	if err := json.Unmarshal(raw, &writes); err != nil {
		return nil, nil, fmt.Errorf("batch write requests: %w", err)
	}
	var keep, leave []any
	for _, w := range writes {
		var key map[string]any
		if w.PutRequest != nil {
			key = w.PutRequest.Item
		} else if w.DeleteRequest != nil {
			key = w.DeleteRequest.Key
		}
		if in.pick(m, key) {
			leave = append(leave, w)
		} else {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		return nil, leave, nil
	}
	if len(leave) == 0 {
		return keep, nil, nil
	}
	return keep, leave, nil
}

// mergeUnprocessed adds the sub-requests left unprocessed to the answer.
func mergeUnprocessed(resp *http.Response, field string, left map[string]any) (*http.Response, error) {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the batch answer: %w", err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode the batch answer: %w", err)
	}
	merged := map[string]any{}
	if raw, ok := out[field]; ok {
		var prior map[string]json.RawMessage
		if err := json.Unmarshal(raw, &prior); err != nil {
			return nil, fmt.Errorf("decode %s: %w", field, err)
		}
		for t, v := range prior {
			merged[t] = v
		}
	}
	for t, v := range left {
		if _, both := merged[t]; both {
			// Both the server and we left keys of one table: rare enough in
			// a test to refuse rather than merge two shapes.
			return nil, fmt.Errorf("the server also left %s items unprocessed", t)
		}
		merged[t] = v
	}
	if out[field], err = json.Marshal(merged); err != nil {
		return nil, err
	}
	if body, err = json.Marshal(out); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("X-Amz-Crc32") // the body changed
	return resp, nil
}
