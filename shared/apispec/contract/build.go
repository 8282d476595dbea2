package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The document's parts, as OpenAPI 3.1 names them.
type (
	document struct {
		OpenAPI    string                          `json:"openapi"`
		Info       info                            `json:"info"`
		Servers    []server                        `json:"servers"`
		Tags       []tag                           `json:"tags"`
		Paths      map[string]map[string]operation `json:"paths"`
		Components components                      `json:"components"`
	}
	info struct {
		Title, Version, Description string
	}
	server struct {
		URL         string `json:"url"`
		Description string `json:"description"`
	}
	tag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	components struct {
		Schemas         map[string]*Schema        `json:"schemas"`
		SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
	}
	securityScheme struct {
		Type         string `json:"type"`
		Scheme       string `json:"scheme"`
		BearerFormat string `json:"bearerFormat,omitempty"`
		Description  string `json:"description"`
	}
	operation struct {
		OperationID string                `json:"operationId"`
		Summary     string                `json:"summary"`
		Tags        []string              `json:"tags"`
		Security    []map[string][]string `json:"security"`
		Parameters  []parameter           `json:"parameters,omitempty"`
		RequestBody *requestBody          `json:"requestBody,omitempty"`
		Responses   map[string]*response  `json:"responses"`
		Wildcard    bool                  `json:"x-path-wildcard,omitempty"`
	}
	parameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Required    bool    `json:"required"`
		Description string  `json:"description,omitempty"`
		Schema      *Schema `json:"schema"`
	}
	requestBody struct {
		Required bool                 `json:"required"`
		Content  map[string]mediaType `json:"content"`
	}
	response struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
		// ErrorCodes lists the codes an error response comes with.
		ErrorCodes []string `json:"x-error-codes,omitempty"`
	}
	mediaType struct {
		Schema  *Schema `json:"schema"`
		Example any     `json:"example,omitempty"`
	}
)

func (i info) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"title": i.Title, "version": i.Version, "description": i.Description})
}

// Security scheme names in the document.
const (
	sessionScheme = "sessionToken"
	staffScheme   = "staffToken"
)

// Media types of more than one reply.
const (
	jsonMedia = "application/json"
	htmlMedia = "text/html"
)

// errorRef refers to the error envelope's schema.
var errorRef = &Schema{Ref: "#/components/schemas/Error"}

// Document is the OpenAPI 3.1 document of routes, its schemas described by
// comments, as indented JSON ending in a newline: what docs/openapi.json
// holds and GET /openapi.json serves.
func Document(routes []Route, comments Comments) ([]byte, error) {
	doc, err := build(routes, comments)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode the document: %w", err)
	}
	return buf.Bytes(), nil
}

func build(routes []Route, comments Comments) (*document, error) {
	res, req := newSchemas(comments, false), newSchemas(comments, true)
	paths := map[string]map[string]operation{}
	for _, r := range routes {
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]operation{}
		}
		method := strings.ToLower(r.Method)
		if _, dup := paths[r.Path][method]; dup {
			return nil, fmt.Errorf("%s is in the table twice", r.Key())
		}
		op, err := buildOperation(r, res, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Key(), err)
		}
		paths[r.Path][method] = op
	}
	schemas := maps.Clone(res.named)
	for name, s := range req.named {
		if _, dup := schemas[name]; dup {
			return nil, fmt.Errorf("schema %s is both a request and a response type", name)
		}
		schemas[name] = s
	}
	schemas["Error"] = errorEnvelope()
	return &document{
		OpenAPI: "3.1.0",
		Info: info{Title: "wxchannel API", Version: "1.0.0", Description: "The HTTP API of the WeChat Mini Program channel for " +
			"after-sales field service: the terminal users' portal (the mini program), the engineers' app, the CRM's admin API, " +
			"the platform operator's API, and the URLs WeChat pushes and redirects to. Every error is the envelope " +
			`{"error":{"code","message","request_id","details"}}; each operation lists the codes it answers with ` +
			"(x-error-codes) under their status. docs/api-contract.md explains how this document is made and held to the code."},
		Servers: []server{{URL: "/", Description: "the API's public HTTPS base (API_BASE_URL)"}},
		Tags:    tags(routes),
		Paths:   paths,
		Components: components{Schemas: schemas, SecuritySchemes: map[string]securityScheme{
			sessionScheme: {Type: "http", Scheme: "bearer",
				Description: "A terminal user's session token from POST /portal/login or /portal/session/refresh."},
			staffScheme: {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
				Description: "A CRM staff token naming the tenant, the subject and one role: admin (the /admin API), engineer " +
					"(the /engineer API) or operator (the /platform API, tenant \"platform\"), signed by the CRM (RS256/ES256) " +
					"or with the shared staff key (HS256). An operation's security requirement names the role it needs."},
		}},
	}, nil
}

// errorEnvelope is the schema of every error reply.
func errorEnvelope() *Schema {
	body := object(map[string]*Schema{
		"code":    describe(typed(typeString), "stable and snake_case; each operation lists the codes it answers with"),
		"message": describe(typed(typeString), "what went wrong and how to fix it, for the person"),
	})
	body.Properties["request_id"] = describe(typed(typeString), "the request's id, also in the X-Request-Id header: quote it to support")
	body.Properties["details"] = &Schema{Description: "the code's specifics, such as the field at fault"}
	env := object(map[string]*Schema{"error": body})
	env.Description = "Every refusal and failure: a stable code to branch on, a message for the person, the request id for support."
	type example struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		RequestID string         `json:"request_id"`
		Details   map[string]any `json:"details"`
	}
	env.Example = map[string]example{"error": {Code: codeInvalidField, Message: "lat: must be a number", RequestID: "apigw-1",
		Details: map[string]any{"field": "lat"}}}
	return env
}

func tags(routes []Route) []tag {
	var names []string
	for _, r := range routes {
		if !slices.Contains(names, r.Function) {
			names = append(names, r.Function)
		}
	}
	out := make([]tag, 0, len(names))
	for _, n := range names {
		out = append(out, tag{Name: n, Description: "served by the function " + n})
	}
	return out
}

func buildOperation(r Route, res, req *schemas) (operation, error) {
	op := operation{OperationID: operationID(r), Summary: r.Summary, Tags: []string{r.Function}, Security: security(r.Auth),
		RequestBody: buildRequestBody(r, req), Responses: map[string]*response{}, Wildcard: r.Wildcard}
	for _, p := range pathParams(r.Path) {
		op.Parameters = append(op.Parameters, parameter{Name: p, In: "path", Required: true, Schema: typed(typeString)})
	}
	for _, p := range r.Query {
		op.Parameters = append(op.Parameters, parameter{Name: p.Name, In: "query", Required: p.Required, Description: p.Description,
			Schema: typed(p.Type)})
	}
	if len(r.Replies) == 0 {
		return op, fmt.Errorf("no reply")
	}
	for _, rep := range r.Replies {
		key := strconv.Itoa(rep.Status)
		next := buildReply(rep, res)
		if prev := op.Responses[key]; prev != nil && next.Content != nil {
			maps.Copy(prev.Content, next.Content) // one status, several media types (JSON or CSV)
			continue
		}
		op.Responses[key] = next
	}
	errs, err := errorResponses(r)
	if err != nil {
		return op, err
	}
	maps.Copy(op.Responses, errs)
	if r.BrowserPages {
		for _, resp := range op.Responses {
			if resp.Content != nil { // a reply with a body
				resp.Content[htmlMedia] = mediaType{Schema: typed(typeString)}
			}
		}
	}
	return op, nil
}

// operationID is the method and the path's words: postPortalWorkOrders.
func operationID(r Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for seg := range strings.FieldsFuncSeq(r.Path, func(c rune) bool { return strings.ContainsRune("/-.{}", c) }) {
		b.WriteString(strings.ToUpper(seg[:1]) + seg[1:])
	}
	return b.String()
}

func security(a Auth) []map[string][]string {
	switch a {
	case Session:
		return []map[string][]string{{sessionScheme: {}}}
	case Admin:
		return []map[string][]string{{staffScheme: {"admin"}}}
	case Engineer:
		return []map[string][]string{{staffScheme: {"engineer"}}}
	case Operator:
		return []map[string][]string{{staffScheme: {"operator"}}}
	}
	return []map[string][]string{{}} // explicitly public
}

func buildRequestBody(r Route, req *schemas) *requestBody {
	var s *Schema
	switch {
	case r.Request != nil:
		s = req.of(reflect.TypeOf(r.Request))
	case r.RequestSchema != nil:
		s = req.resolve(r.RequestSchema)
	case r.RequestContentType != "":
		s = typed(typeString)
	default:
		return nil
	}
	ct := r.RequestContentType
	if ct == "" {
		ct = jsonMedia
	}
	return &requestBody{Required: true, Content: map[string]mediaType{ct: {Schema: s, Example: r.RequestExample}}}
}

func buildReply(rep Reply, res *schemas) *response {
	out := &response{Description: rep.Description}
	if out.Description == "" {
		out.Description = http.StatusText(rep.Status)
	}
	var s *Schema
	switch {
	case rep.Body != nil:
		s = res.of(reflect.TypeOf(rep.Body))
	case rep.Schema != nil:
		s = res.resolve(rep.Schema)
	case rep.ContentType != "":
		s = typed(typeString)
	default:
		return out
	}
	ct := rep.ContentType
	if ct == "" {
		ct = jsonMedia
	}
	out.Content = map[string]mediaType{ct: {Schema: s, Example: rep.Example}}
	return out
}
