package wechatsim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestEverySubscribeErrcodeHasWeChatsMessage: the subscribe-message codes
// are named in subscribe_errcodes.go, each with WeChat's errmsg.
func TestEverySubscribeErrcodeHasWeChatsMessage(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "subscribe_errcodes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, value := range vs.Values {
				code, ok := intLiteral(value)
				if !ok {
					continue // errmsg texts, not codes
				}
				named++
				if subscribeErrMessages[code] == "" {
					t.Errorf("%s (%d) has no WeChat errmsg", vs.Names[i], code)
				}
				if _, twice := errMessages[code]; twice {
					t.Errorf("%s (%d) is also named in errcodes.go", vs.Names[i], code)
				}
			}
		}
	}
	if named != len(subscribeErrMessages) {
		t.Errorf("%d named codes, %d messages", named, len(subscribeErrMessages))
	}
}
