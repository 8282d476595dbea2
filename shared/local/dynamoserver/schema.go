package dynamoserver

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
)

// keySchema names a table's or an index's key attributes; rng is empty for
// a hash-only key.
type keySchema struct {
	hash, rng string
}

func (k keySchema) names() []string {
	if k.rng == "" {
		return []string{k.hash}
	}
	return []string{k.hash, k.rng}
}

// indexSchema describes a secondary index as CreateTable declared it.
type indexSchema struct {
	name       string
	global     bool
	keys       keySchema
	projection string   // ALL, KEYS_ONLY or INCLUDE
	include    []string // INCLUDE's non-key attributes
}

// tableSchema is what the layer knows of a table: its key and its indexes.
type tableSchema struct {
	name    string
	keys    keySchema
	indexes []indexSchema // sorted by name
}

func (t *tableSchema) index(name string) *indexSchema {
	for i := range t.indexes {
		if t.indexes[i].name == name {
			return &t.indexes[i]
		}
	}
	return nil
}

// hasGlobalIndexes reports whether any index is global (and so lags when
// index lag is on).
func (t *tableSchema) hasGlobalIndexes() bool {
	return slices.ContainsFunc(t.indexes, func(ix indexSchema) bool { return ix.global })
}

// itemID identifies an item of this table by its key, whatever other
// attributes it carries; ok is false when a key attribute is missing or
// not a scalar.
func (t *tableSchema) itemID(it item) (string, bool) {
	parts := []string{t.name}
	for _, n := range t.keys.names() {
		s, ok := scalarOf(it[n])
		if !ok {
			return "", false
		}
		parts = append(parts, s.typ+":"+s.text)
	}
	return strings.Join(parts, "\x00"), true
}

// inIndex reports whether an item (or image) has every key attribute of ix,
// that is whether DynamoDB keeps it in that sparse index.
func inIndex(it item, ix *indexSchema) bool {
	for _, n := range ix.keys.names() {
		if _, ok := scalarOf(it[n]); !ok {
			return false
		}
	}
	return true
}

// project returns the attributes of a table item that ix projects.
func (t *tableSchema) project(it item, ix *indexSchema) item {
	if ix.projection == "" || ix.projection == "ALL" {
		return it.clone()
	}
	names := append(t.keys.names(), ix.keys.names()...)
	if ix.projection == "INCLUDE" {
		names = append(names, ix.include...)
	}
	return it.pick(names...)
}

// The CreateTable and UpdateTable request fields the layer reads.
type (
	keySchemaElement struct {
		AttributeName string
		KeyType       string
	}
	indexDefinition struct {
		IndexName  string
		KeySchema  []keySchemaElement
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
	}
	createTableRequest struct {
		TableName              string
		KeySchema              []keySchemaElement
		GlobalSecondaryIndexes []indexDefinition
		LocalSecondaryIndexes  []indexDefinition
	}
	updateTableRequest struct {
		TableName                   string
		GlobalSecondaryIndexUpdates []struct {
			Create *indexDefinition
			Delete *struct{ IndexName string }
		}
	}
)

func parseKeySchema(elems []keySchemaElement) keySchema {
	var k keySchema
	for _, e := range elems {
		if e.KeyType == "HASH" {
			k.hash = e.AttributeName
		} else {
			k.rng = e.AttributeName
		}
	}
	return k
}

func parseIndex(d indexDefinition, global bool) indexSchema {
	return indexSchema{
		name: d.IndexName, global: global, keys: parseKeySchema(d.KeySchema),
		projection: d.Projection.ProjectionType, include: d.Projection.NonKeyAttributes,
	}
}

func sortIndexes(ixs []indexSchema) {
	sort.Slice(ixs, func(i, j int) bool { return ixs[i].name < ixs[j].name })
}

// schemas is the layer's catalogue, learnt from the CreateTable, UpdateTable
// and DeleteTable requests minidyn accepted.
type schemas struct {
	mu     sync.RWMutex
	tables map[string]*tableSchema
}

func (s *schemas) get(name string) *tableSchema {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tables[name]
}

// created records a table from its accepted CreateTable request.
func (s *schemas) created(body []byte) {
	var req createTableRequest
	if json.Unmarshal(body, &req) != nil {
		return
	}
	t := &tableSchema{name: req.TableName, keys: parseKeySchema(req.KeySchema)}
	for _, d := range req.GlobalSecondaryIndexes {
		t.indexes = append(t.indexes, parseIndex(d, true))
	}
	for _, d := range req.LocalSecondaryIndexes {
		t.indexes = append(t.indexes, parseIndex(d, false))
	}
	sortIndexes(t.indexes)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[t.name] = t
}

// updated applies an accepted UpdateTable request's index changes.
func (s *schemas) updated(body []byte) {
	var req updateTableRequest
	if json.Unmarshal(body, &req) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.tables[req.TableName]
	if old == nil {
		return
	}
	t := *old
	t.indexes = slices.Clone(old.indexes)
	for _, u := range req.GlobalSecondaryIndexUpdates {
		switch {
		case u.Create != nil:
			t.indexes = append(t.indexes, parseIndex(*u.Create, true))
		case u.Delete != nil:
			t.indexes = slices.DeleteFunc(t.indexes, func(ix indexSchema) bool { return ix.name == u.Delete.IndexName })
		}
	}
	sortIndexes(t.indexes)
	s.tables[t.name] = &t
}

func (s *schemas) deleted(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tables, name)
}
