package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

// Failures the artifact's path causes are permanent, each with its own
// reason, on the first try: no retry and no circuit can fix them.
func TestDirDeployerClassifiesPathFailuresByCause(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root, outside := filepath.Join(parent, "root"), filepath.Join(parent, "outside")
	for _, dir := range []string{filepath.Join(root, "adir", "inner"), outside} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "afile"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	d := &Dir{Root: root}
	for _, tc := range []struct{ path, reason string }{
		{"adir", wire.ReasonPathConflict},       // a directory where the file goes
		{"afile/x.go", wire.ReasonPathConflict}, // a file where a directory goes
		{"link/x.go", wire.ReasonPathEscapes},   // a symlink out of the root
		{strings.Repeat("n", wire.MaxElementLen+1), wire.ReasonUnsafePath},
	} {
		_, err := d.Deploy(context.Background(), artifact(tc.path, "content", 1))
		if !wire.IsPermanent(err) || wire.ReasonOf(err) != tc.reason {
			t.Errorf("Deploy(%.20q) = %v (reason %s), want permanent %s", tc.path, err, wire.ReasonOf(err), tc.reason)
		}
	}
	// The longest element CleanPath allows still fits with the temporary
	// and previous-version suffixes.
	long := strings.Repeat("n", wire.MaxElementLen)
	for range 2 {
		if _, err := d.Deploy(context.Background(), artifact(long, "v", 1)); err != nil {
			t.Fatalf("Deploy(longest name): %v", err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside root: %v", entries)
	}
}

func TestEnvironmentFailuresStayTransient(t *testing.T) {
	t.Parallel()
	for _, err := range []error{errors.New("disk full"), os.ErrPermission, context.DeadlineExceeded} {
		if got := classifyFS(err); wire.IsPermanent(got) {
			t.Errorf("classifyFS(%v) is permanent", err)
		}
	}
}
