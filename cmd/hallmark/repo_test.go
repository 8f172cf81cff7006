package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagesHaveDocs checks the house rules that a reader relies on: every
// package says what it is for, and no package is a grab bag.
func TestPackagesHaveDocs(t *testing.T) {
	root := filepath.Join("..", "..")
	docs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") &&
				path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil,
			parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		docs[dir] = docs[dir] || f.Doc != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d packages; is the walk rooted at the module?", len(docs))
	}
	for dir, ok := range docs {
		if !ok {
			t.Errorf("package %s has no package doc comment", dir)
		}
		switch filepath.Base(dir) {
		case "util", "utils", "common", "helpers", "misc":
			t.Errorf("package %s: name a package for what it does", dir)
		}
	}
}
