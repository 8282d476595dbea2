package contract

import (
	"fmt"
	"os"
	"path/filepath"
)

// Files are where the document is kept, relative to the repository's root:
// the committed copy for readers and the one the apispec function embeds.
var Files = []string{"docs/openapi.json", "shared/apispec/openapi.json"}

// Generate is the document of Routes, described by the comments of the
// source under root.
func Generate(root string) ([]byte, error) {
	comments, err := LoadComments(root)
	if err != nil {
		return nil, err
	}
	return Document(Routes, comments)
}

// Write generates the document into every file of Files under root.
func Write(root string) error {
	doc, err := Generate(root)
	if err != nil {
		return err
	}
	for _, f := range Files {
		if err := os.WriteFile(filepath.Join(root, f), doc, 0o644); err != nil {
			return fmt.Errorf("write the document: %w", err)
		}
	}
	return nil
}
