package wechatsim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryErrcodeTheSimulatorAnswersHasWeChatsMessage: every errcode is a
// named constant of errcodes.go with WeChat's errmsg, and no handler
// answers a bare number that could miss one.
func TestEveryErrcodeTheSimulatorAnswersHasWeChatsMessage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if name == "errcodes.go" {
			checkNamedCodes(t, f)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ret, ok := n.(*ast.ReturnStmt); ok {
				for _, r := range ret.Results {
					if code, ok := intLiteral(r); ok && (code < 0 || code >= 10000) {
						t.Errorf("%s: returns the bare errcode %d; name it in errcodes.go", fset.Position(r.Pos()), code)
					}
				}
			}
			return true
		})
	}
}

// checkNamedCodes checks that each constant declared in f has a message
// that is WeChat's, not a placeholder.
func checkNamedCodes(t *testing.T, f *ast.File) {
	t.Helper()
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
					t.Fatalf("%s is not a literal errcode", vs.Names[i])
				}
				named++
				if msg := errMessages[code]; msg == "" || msg == "error" {
					t.Errorf("%s (%d) has no WeChat errmsg: %q", vs.Names[i], code, msg)
				}
			}
		}
	}
	if named != len(errMessages) {
		t.Errorf("%d named codes, %d messages: each message belongs to one named code", named, len(errMessages))
	}
}

// intLiteral is the value of an integer literal, negative ones included.
func intLiteral(e ast.Expr) (int, bool) {
	sign := 1
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		sign, e = -1, u.X
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, false
	}
	v, err := strconv.Atoi(lit.Value)
	return sign * v, err == nil
}
