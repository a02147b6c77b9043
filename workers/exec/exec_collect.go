package exec

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/regen-dev/regen/bus/wire"
)

// collect reads every regular file under scratch as an artifact. Symlinks
// and other special files are refused (a generator cannot smuggle a file
// from outside its scratch directory), paths go through CleanPath, and the
// total size is bounded.
func collect(ch wire.Change, scratch string, limit int64) ([]wire.Artifact, error) {
	var out []wire.Artifact
	var total int64
	err := filepath.WalkDir(scratch, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file", wire.ErrPermanent, p)
		}
		a, err := artifactFile(ch, scratch, p)
		if err != nil {
			return err
		}
		if total += int64(len(a.Content)); total > limit {
			return fmt.Errorf("%w: output over %d bytes", wire.ErrPermanent, limit)
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("exec %s: collect: %w", ch.Event.ID, err)
	}
	slices.SortFunc(out, func(a, b wire.Artifact) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func artifactFile(ch wire.Change, scratch, p string) (wire.Artifact, error) {
	rel, err := filepath.Rel(scratch, p)
	if err != nil {
		return wire.Artifact{}, err
	}
	clean, err := wire.CleanPath(filepath.ToSlash(rel))
	if err != nil {
		return wire.Artifact{}, fmt.Errorf("%w: %w", wire.ErrPermanent, err)
	}
	content, err := os.ReadFile(p)
	if err != nil {
		return wire.Artifact{}, err
	}
	return wire.Artifact{Path: clean, Content: content, Hash: wire.ContentHash(content), Template: "exec",
		Node: ch.Event.Subject, Revision: ch.Seq, EventID: ch.Event.ID, ExecutionID: ch.ExecutionID}, nil
}

// tailBuffer keeps the last 4 KiB written to it (the generator's output,
// for the error message).
type tailBuffer struct{ b []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
