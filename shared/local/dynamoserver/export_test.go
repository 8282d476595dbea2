package dynamoserver

import "encoding/json"

// ShadowItems counts the items the shadow holds in table.
func (s *Server) ShadowItems(table string) int {
	r := s.layer.shadowCall(opScan, map[string]any{"TableName": table, "Select": "COUNT"})
	var out struct{ Count int }
	if !r.ok() || json.Unmarshal(r.body, &out) != nil {
		return -1
	}
	return out.Count
}
