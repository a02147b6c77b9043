package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// FuzzClassifyFS holds classifyFS to its rule for any error a file system
// can return, however wrapped: permanent, with the cause's reason, exactly
// for the errors that the artifact's path causes.
func FuzzClassifyFS(f *testing.F) {
	for _, errno := range []syscall.Errno{syscall.ENAMETOOLONG, syscall.EISDIR, syscall.ENOSPC, syscall.EACCES,
		syscall.EIO, syscall.ELOOP, syscall.ENOTDIR} {
		f.Add(uint16(errno), uint8(1), "")
	}
	f.Add(uint16(0), uint8(2), "openat x: path escapes from parent")
	f.Fuzz(func(t *testing.T, errno uint16, depth uint8, msg string) {
		var err error = &os.PathError{Op: "openat", Path: "a/b", Err: syscall.Errno(errno)}
		if msg != "" {
			err = errors.New(msg)
		}
		for i := range depth % 4 {
			err = fmt.Errorf("layer %d: %w", i, err)
		}
		want := dataReason(syscall.Errno(errno), msg)
		got := classifyFS(err)
		if wire.IsPermanent(got) != (want != "") || (want != "" && wire.ReasonOf(got) != want) {
			t.Fatalf("classifyFS(%v) = permanent %v reason %s, want %q", err, wire.IsPermanent(got), wire.ReasonOf(got), want)
		}
		if !errors.Is(got, err) {
			t.Fatalf("classifyFS lost the cause: %v", got)
		}
	})
}

// dataReason is the rule, written out: the reason of a failure the path
// causes, "" for the environment's.
func dataReason(errno syscall.Errno, msg string) string {
	if msg != "" {
		if strings.Contains(msg, "path escapes from parent") {
			return wire.ReasonPathEscapes
		}
		return ""
	}
	switch errno {
	case syscall.ENAMETOOLONG:
		return wire.ReasonPathTooLong
	case syscall.EISDIR, syscall.ENOTDIR, syscall.ENOTEMPTY:
		return wire.ReasonPathConflict
	case syscall.ELOOP:
		return wire.ReasonPathEscapes
	}
	return ""
}
