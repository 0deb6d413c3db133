package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// allowedImports keeps the layering of DESIGN.md honest: which project
// packages each package may import. Standard-library imports are always
// allowed; anything else (a third-party module) must be listed. An entry
// ending in "/" allows every package under it.
var allowedImports = map[string][]string{
	"plateau/kernels": {},
	"plateau/spec":    {},
	"plateau/nn":      {"plateau/kernels", "plateau/spec"},
	// data's own decoders (a JPEG decoded smaller) sit inside it; WebP,
	// BMP and TIFF come from Go's x/image.
	"plateau/data":               {"plateau/spec", "plateau/data/internal/", "golang.org/x/image/"},
	"plateau/data/internal/jpeg": {},
	"plateau/train":              {"plateau/nn", "plateau/data", "plateau/spec", "plateau/protocol"},
	"plateau/doctor":             {"plateau/spec", "plateau/train"},
	"plateau/protocol":           {"plateau/spec"},
	// The page renders events; it never trains, so it never sees kernels.
	"plateau/ui": {"plateau/protocol", "plateau/spec", "github.com/vugu/"},
	// The one package that speaks GoMLX.
	"plateau/server/gomlx": {"plateau/nn", "plateau/data", "plateau/train", "plateau/spec", "github.com/gomlx/"},
}

func TestDependencyPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-json", "plateau/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Standard   bool
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/gomlx/") && p.ImportPath != "plateau/server/gomlx" {
				t.Errorf("%s imports %s; only plateau/server/gomlx may import GoMLX", p.ImportPath, imp)
			}
		}
		allowed, ok := allowedImports[p.ImportPath]
		if !ok {
			continue
		}
		seen[p.ImportPath] = true
		for _, imp := range p.Imports {
			if isStandard(imp) || contains(allowed, imp) {
				continue
			}
			t.Errorf("%s imports %s; allowed: standard library and %v", p.ImportPath, imp, allowed)
		}
	}
	for pkg := range allowedImports {
		if !seen[pkg] {
			t.Errorf("package %s not found by go list", pkg)
		}
	}
}

// isStandard reports whether an import path belongs to the standard
// library: its first element has no dot and it is not one of ours.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && first != "plateau"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.HasSuffix(x, "/") && strings.HasPrefix(s, x) {
			return true
		}
	}
	return false
}
