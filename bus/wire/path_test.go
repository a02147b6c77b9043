package wire

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"a.go": "a.go", "types/a.go": "types/a.go", "./a//b/./c.md": "a/b/c.md", "a/b/": "a/b",
	}
	for in, want := range ok {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "/etc/passwd", "../x", "a/../../x", "a/..", "a\\b", "a\x00b", "a\nb",
		"C:x", "./C:x", "./0:", ".", "./", strings.Repeat("a", 1025), strings.Repeat("b", 256) + "/x", "\xff"}
	for _, in := range bad {
		if got, err := CleanPath(in); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("CleanPath(%q) = %q, %v; want ErrUnsafePath", in, got, err)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b.go", "../x", "a/../b", "/abs", "a\\b", "./.", "a/./b/", "..a/b..", "\x00"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/deploy/root")
	f.Fuzz(func(t *testing.T, p string) {
		c, err := CleanPath(p)
		if err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v does not match ErrUnsafePath", err)
			}
			return
		}
		for _, el := range strings.Split(c, "/") {
			if el == ".." || el == "" {
				t.Fatalf("CleanPath(%q) = %q has element %q", p, c, el)
			}
		}
		j := filepath.Join(root, c)
		if rel, err := filepath.Rel(root, j); err != nil || rel == ".." || strings.HasPrefix(rel, "../") || j == root {
			t.Fatalf("CleanPath(%q) = %q escapes root: %q", p, c, j)
		}
		if c2, err := CleanPath(c); err != nil || c2 != c {
			t.Fatalf("CleanPath not idempotent: %q -> %q (%v)", c, c2, err)
		}
	})
}
