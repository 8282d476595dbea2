package contract

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it), holding the
// keywords the contract uses.
type Schema struct {
	Ref             string `json:"$ref,omitempty"`
	Description     string `json:"description,omitempty"`
	Type            any    `json:"type,omitempty"` // a type name, or several ([]string)
	Format          string `json:"format,omitempty"`
	ContentEncoding string `json:"contentEncoding,omitempty"`
	// Properties and Required describe an object; AdditionalProperties is
	// false (closed) or the schema of the other values.
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Example              any                `json:"example,omitempty"`

	// goType stands for the schema of a Go type inside a hand-written
	// schema (see goType); the builder replaces it.
	goType reflect.Type
}

// JSON Schema type names.
const (
	typeString  = "string"
	typeInteger = "integer"
	typeNumber  = "number"
	typeBoolean = "boolean"
	typeObject  = "object"
	typeArray   = "array"
	typeNull    = "null"
)

func typed(t string) *Schema { return &Schema{Type: t} }

// goType stands for the schema of v's Go type inside a hand-written schema.
func goType(v any) *Schema { return &Schema{goType: reflect.TypeOf(v)} }

// anyOf accepts a value of any of the schemas.
func anyOf(s ...*Schema) *Schema { return &Schema{AnyOf: s} }

// arrayOf is an array of items.
func arrayOf(items *Schema) *Schema { return &Schema{Type: typeArray, Items: items} }

// object is a hand-written object whose properties are all always sent.
func object(props map[string]*Schema) *Schema {
	s := &Schema{Type: typeObject, Properties: props}
	for k := range props {
		s.Required = append(s.Required, k)
	}
	sortStrings(s.Required)
	return s
}

// describe returns a copy of s with a description; beside a $ref, the
// description is a sibling keyword, which OpenAPI 3.1 allows.
func describe(s *Schema, doc string) *Schema {
	out := *s
	out.Description = doc
	return &out
}

// schemas derives JSON Schemas from Go types as encoding/json writes and
// reads them, collecting named struct types under components/schemas so
// each appears once and routes refer to it.
type schemas struct {
	// named holds the component schemas by name.
	named map[string]*Schema
	// owner remembers which Go type took each component name, so two types
	// of the same name from different packages never share one.
	owner map[string]reflect.Type
	// comments describe the types and fields.
	comments Comments
	// request is set while deriving request bodies: the product decodes
	// bodies refusing unknown fields, so request objects are closed, and
	// no field is required (a handler says which are, with its message).
	request bool
}

func newSchemas(comments Comments, request bool) *schemas {
	return &schemas{named: map[string]*Schema{}, owner: map[string]reflect.Type{}, comments: comments, request: request}
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	durationType        = reflect.TypeFor[time.Duration]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// of returns the schema of values of t; a pointer may also be null.
func (s *schemas) of(t reflect.Type) *Schema {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	out := s.plain(t)
	if nullable {
		return orNull(out)
	}
	return out
}

// plain is the schema of a non-pointer type.
func (s *schemas) plain(t reflect.Type) *Schema {
	switch {
	case t == timeType:
		return &Schema{Type: typeString, Format: "date-time"}
	case t == rawMessageType:
		return &Schema{}
	case t == durationType:
		return &Schema{Type: typeInteger, Description: "nanoseconds"}
	case implements(t, jsonMarshalerType) || implements(t, jsonUnmarshalerType):
		// A type that writes its own JSON: its fields say nothing.
		return &Schema{}
	case implements(t, textMarshalerType):
		return typed(typeString)
	}
	switch t.Kind() {
	case reflect.String:
		if values, ok := enums[t]; ok {
			return &Schema{Type: typeString, Enum: values}
		}
		return typed(typeString)
	case reflect.Bool:
		return typed(typeBoolean)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return typed(typeInteger)
	case reflect.Float32, reflect.Float64:
		return typed(typeNumber)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &Schema{Type: typeString, ContentEncoding: "base64"}
		}
		items := arrayOf(s.of(t.Elem()))
		if t.Kind() == reflect.Slice {
			return orNull(items) // encoding/json writes a nil slice as null
		}
		return items
	case reflect.Map:
		return orNull(&Schema{Type: typeObject, AdditionalProperties: s.of(t.Elem())})
	case reflect.Struct:
		return s.structRef(t)
	}
	return &Schema{} // an interface: any value
}

// structRef is a reference to the component schema of a named struct, or
// the inline schema of an anonymous one.
func (s *schemas) structRef(t reflect.Type) *Schema {
	if t.Name() == "" {
		return s.object(t)
	}
	base := componentName(t)
	if s.request && !strings.HasSuffix(base, "Request") {
		base += "Request"
	}
	name := base
	for i := 2; s.owner[name] != nil && s.owner[name] != t; i++ {
		name = base + strings.Repeat("_", i-1)
	}
	if s.owner[name] == nil {
		s.owner[name] = t
		s.named[name] = &Schema{} // a recursive type refers to itself meanwhile
		obj := s.object(t)
		obj.Description = s.comments.of(t, "")
		s.named[name] = obj
	}
	return &Schema{Ref: "#/components/schemas/" + name}
}

// componentName is a type's name prefixed with its package's
// (workorder.Order → WorkorderOrder), so names stay unique and readable.
func componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 { // a generic type's instance
		name = name[:i]
	}
	if pkg == "" {
		return name
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + name
}

// object is the schema of a struct's JSON object: every exported field
// under its json name, embedded structs flattened as encoding/json does.
func (s *schemas) object(t reflect.Type) *Schema {
	out := &Schema{Type: typeObject, Properties: map[string]*Schema{}}
	s.fields(t, out)
	if s.request {
		out.AdditionalProperties = false
	}
	return out
}

func (s *schemas) fields(t reflect.Type, out *Schema) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		opts = "," + opts + ","
		if f.Anonymous && name == "" {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				s.fields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		schema := s.of(f.Type)
		if strings.Contains(opts, ",string,") {
			schema = typed(typeString)
		}
		doc := f.Tag.Get("doc")
		if doc == "" {
			doc = s.comments.of(t, f.Name)
		}
		if doc != "" {
			schema = describe(schema, doc)
		}
		out.Properties[name] = schema
		omitted := strings.Contains(opts, ",omitempty,") || strings.Contains(opts, ",omitzero,")
		if !omitted && !s.request {
			// encoding/json always writes a field without omitempty.
			out.Required = append(out.Required, name)
		}
	}
}

// resolve returns a hand-written schema with every goType marker replaced;
// the table's schemas are left as they are, so the document can be built
// again.
func (s *schemas) resolve(in *Schema) *Schema {
	if in == nil {
		return nil
	}
	if in.goType != nil {
		out := *s.of(in.goType)
		if in.Description != "" {
			out.Description = in.Description
		}
		return &out
	}
	out := *in
	if in.Properties != nil {
		out.Properties = make(map[string]*Schema, len(in.Properties))
		for k, p := range in.Properties {
			out.Properties[k] = s.resolve(p)
		}
	}
	out.Items = s.resolve(in.Items)
	if in.AnyOf != nil {
		out.AnyOf = make([]*Schema, len(in.AnyOf))
		for i, a := range in.AnyOf {
			out.AnyOf[i] = s.resolve(a)
		}
	}
	if ap, ok := in.AdditionalProperties.(*Schema); ok {
		out.AdditionalProperties = s.resolve(ap)
	}
	return &out
}

// orNull widens s to also accept null.
func orNull(s *Schema) *Schema {
	if t, ok := s.Type.(string); ok {
		out := *s
		out.Type = []string{t, typeNull}
		return &out
	}
	if s.Ref == "" && s.Type == nil && s.AnyOf == nil {
		return s // any value already
	}
	return anyOf(s, typed(typeNull))
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}
