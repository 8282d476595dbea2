package contract

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
)

// Comments are the doc comments of the product's types and struct fields,
// keyed "import/path.Type" and "import/path.Type.Field": the document's
// descriptions come from the same comments a Go reader sees.
type Comments map[string]string

// modulePath is the product's module path, read off this package's own.
var modulePath = strings.Split(reflect.TypeFor[Route]().PkgPath(), "/")[0]

// LoadComments reads the doc comments of every shipped package under
// root/shared (the local harness is not the product).
func LoadComments(root string) (Comments, error) {
	out := Comments{}
	base := filepath.Join(root, "shared")
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "local":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		return out.addFile(path, modulePath+"/"+filepath.ToSlash(rel))
	})
	if err != nil {
		return nil, fmt.Errorf("read the doc comments: %w", err)
	}
	return out, nil
}

// addFile records the comments of the struct types declared in one file.
func (c Comments) addFile(path, pkgPath string) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.TYPE {
			continue
		}
		for _, spec := range gen.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil && len(gen.Specs) == 1 {
				doc = gen.Doc
			}
			key := pkgPath + "." + ts.Name.Name
			c.set(key, doc)
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, field := range st.Fields.List {
					for _, name := range field.Names {
						if field.Doc != nil {
							c.set(key+"."+name.Name, field.Doc)
						} else {
							c.set(key+"."+name.Name, field.Comment)
						}
					}
				}
			}
		}
	}
	return nil
}

// set keeps a comment as one line of prose.
func (c Comments) set(key string, doc *ast.CommentGroup) {
	if doc == nil {
		return
	}
	if text := strings.Join(strings.Fields(doc.Text()), " "); text != "" {
		c[key] = text
	}
}

// of is the comment of a named type, or of its field when field is set.
func (c Comments) of(t reflect.Type, field string) string {
	if t.Name() == "" {
		return ""
	}
	key := t.PkgPath() + "." + t.Name()
	if field != "" {
		key += "." + field
	}
	return c[key]
}
