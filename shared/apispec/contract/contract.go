// Package contract is the product's HTTP contract as Go: one table naming,
// for every route, its request and response types, who may call it and the
// error codes it answers with, and the builder that turns the table into
// the OpenAPI 3.1 document (docs/openapi.json). Schemas are derived from
// the Go types by their json tags, so a renamed or retyped field changes
// the document; tests hold the table to the routes the functions serve and
// every end-to-end exchange to the document. Only the generator
// (cmd/openapi) and tests link this package.
package contract

import (
	"net/http"
	"slices"
	"strings"
)

// Auth says who may call a route.
type Auth int

// Who may call a route.
const (
	// Public routes take no token (WeChat's pushes carry a signature, the
	// authorization pages a signed state).
	Public Auth = iota
	// Session routes take a terminal user's session token.
	Session
	// Admin, Engineer and Operator routes take a CRM staff token with that role.
	Admin
	Engineer
	Operator
)

// Route is one method and path of the product.
type Route struct {
	Method, Path string
	// Wildcard says the path's last parameter spans segments (the ServeMux
	// pattern's {name...}), which OpenAPI cannot write: the operation says
	// so with x-path-wildcard.
	Wildcard bool
	// Function is the deployed function serving the route (the document's tag).
	Function string
	Summary  string
	Auth     Auth
	// Request is a value of the JSON body's Go type; RequestSchema a
	// hand-written schema where the body has no named type. Nil for none.
	Request       any
	RequestSchema *Schema
	// RequestContentType is the body's media type when it is not JSON.
	RequestContentType string
	// RequestExample is a body shown in the document (validated against
	// the request's schema).
	RequestExample any
	// Query lists the query parameters the route reads.
	Query []Param
	// Replies are the answers that are not errors.
	Replies []Reply
	// ErrorPages says the route answers a person's browser: its refusals
	// are HTML pages that say what to do, not the error envelope.
	ErrorPages bool
	// CallsWeChat adds the codes of WeChat refusing or not answering.
	CallsWeChat bool
	// BrowserPages says a browser's navigation (Accept: text/html) gets an
	// HTML page saying the same, with the same status, instead of JSON.
	BrowserPages bool
	// Errors are the error codes, space-separated, the route answers with
	// beyond those of its kind of route (a token's, a JSON body's,
	// storage's: see errorCodes). Each must have its status in codeStatus.
	Errors string
}

// Param is a query parameter.
type Param struct {
	Name, Description string
	// Type is the JSON Schema type of its value.
	Type     string
	Required bool
}

// Reply is one answer that is not an error: its status and body.
type Reply struct {
	Status int
	// Body is a value of the JSON body's Go type; Schema a hand-written
	// schema. Both nil with an empty ContentType: no body.
	Body   any
	Schema *Schema
	// ContentType is the body's media type when it is not JSON.
	ContentType string
	Description string
	// Example is a body shown in the document.
	Example any
}

// Key is "METHOD /path", the ServeMux pattern serving the route.
func (r Route) Key() string {
	if r.Wildcard {
		return r.Method + " " + strings.TrimSuffix(r.Path, "}") + "...}"
	}
	return r.Method + " " + r.Path
}

// Query parameters by type.
func qs(name, description string) Param {
	return Param{Name: name, Type: typeString, Description: description}
}
func qi(name, description string) Param {
	return Param{Name: name, Type: typeInteger, Description: description}
}
func qn(name, description string) Param {
	return Param{Name: name, Type: typeNumber, Description: description}
}
func qb(name, description string) Param {
	return Param{Name: name, Type: typeBoolean, Description: description}
}

// ok is a 200 with a JSON body of body's type.
func ok(body any) []Reply { return []Reply{{Status: http.StatusOK, Body: body}} }

// okSchema is a 200 with a JSON body of a hand-written schema.
func okSchema(s *Schema) []Reply { return []Reply{{Status: http.StatusOK, Schema: s}} }

// created is a 201 with a JSON body of body's type.
func created(body any) []Reply { return []Reply{{Status: http.StatusCreated, Body: body}} }

// accepted is a 202 with a JSON body of body's type.
func accepted(body any) []Reply { return []Reply{{Status: http.StatusAccepted, Body: body}} }

// noContent is a 204.
func noContent() []Reply {
	return []Reply{{Status: http.StatusNoContent, Description: "done; no body"}}
}

// function sets the serving function of routes.
func function(name string, routes []Route) []Route {
	for i := range routes {
		routes[i].Function = name
	}
	return routes
}

// pathParams are the {name} segments of a path.
func pathParams(path string) []string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

func sortStrings(s []string) { slices.Sort(s) }
