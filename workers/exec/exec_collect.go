package exec

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/regen-dev/regen/bus/wire"
)

// output is one file a run left, as listed (lstat), before it is read.
type output struct {
	abs, path string // on disk, and as the artifact's clean path
	info      fs.FileInfo
}

// collect reads every regular file under scratch as an artifact. Nothing
// is read before the whole tree is checked: symlinks and other special
// files are refused (a generator cannot smuggle a file from outside its
// scratch directory), so are files with a hard link outside it, paths go
// through CleanPath, and the sizes must add up to at most limit. Files are
// then read through a reader bounded by what is left of limit, so a file
// that grew after it was listed cannot exceed it either.
func collect(ch wire.Change, scratch string, limit int64) ([]wire.Artifact, error) {
	files, err := listOutputs(scratch, limit)
	if err != nil {
		return nil, fmt.Errorf("exec %s: collect: %w", ch.Event.ID, err)
	}
	out := make([]wire.Artifact, 0, len(files))
	budget := limit
	for _, f := range files {
		content, err := readOutput(f, budget, limit)
		if err != nil {
			return nil, fmt.Errorf("exec %s: collect: %w", ch.Event.ID, err)
		}
		budget -= int64(len(content))
		out = append(out, wire.Artifact{Path: f.path, Content: content, Hash: wire.ContentHash(content),
			Template: Template, Node: ch.Event.Subject, Revision: ch.Seq, EventID: ch.Event.ID, ExecutionID: ch.ExecutionID})
	}
	slices.SortFunc(out, func(a, b wire.Artifact) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// listOutputs walks scratch with lstat and checks every entry, stopping at
// the first refusal.
func listOutputs(scratch string, limit int64) ([]output, error) {
	var files []output
	var total int64
	err := filepath.WalkDir(scratch, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := listOutput(scratch, p, d)
		if err != nil {
			return err
		}
		if total += f.info.Size(); total > limit {
			return wire.PermanentReason(wire.ReasonExecOutputTooLarge,
				fmt.Errorf("output over %d bytes (%s is %d bytes)", limit, f.path, f.info.Size()))
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, checkLinks(files)
}

// listOutput checks one non-directory entry: a regular file at a clean path.
func listOutput(scratch, p string, d fs.DirEntry) (output, error) {
	rel, err := filepath.Rel(scratch, p)
	if err != nil {
		return output{}, fmt.Errorf("output %s: %w", p, err)
	}
	if !d.Type().IsRegular() {
		return output{}, wire.PermanentReason(wire.ReasonExecOutputNotRegular,
			fmt.Errorf("output %q is not a regular file (%s)", rel, d.Type()))
	}
	clean, err := wire.CleanPath(filepath.ToSlash(rel))
	if err != nil {
		return output{}, wire.PermanentReason(wire.ReasonExecOutputPath, err)
	}
	info, err := d.Info() // lstat: WalkDir follows no link
	if err != nil {
		return output{}, fmt.Errorf("output %q: %w", rel, err)
	}
	return output{abs: p, path: clean, info: info}, nil
}

// checkLinks refuses a file with more hard links than the walk found in
// scratch: its other name is outside, and its content is not the run's
// (a link to a file regen can read but the generator was not given).
func checkLinks(files []output) error {
	found := make(map[[2]uint64]uint64)
	for _, f := range files {
		if key, nlink, ok := fileKey(f.info); ok && nlink > 1 {
			found[key]++
		}
	}
	for _, f := range files {
		if key, nlink, ok := fileKey(f.info); ok && nlink > 1 && nlink > found[key] {
			return wire.PermanentReason(wire.ReasonExecOutputHardlink,
				fmt.Errorf("output %q has %d hard links, %d of them outside the scratch directory", f.path, nlink, nlink-found[key]))
		}
	}
	return nil
}

// readOutput reads f, refusing it if it is no longer the file listed or if
// it holds more than budget bytes (what limit leaves after the files read
// before it).
func readOutput(f output, budget, limit int64) ([]byte, error) {
	fh, err := openOutput(f.abs)
	if err != nil {
		return nil, wire.PermanentReason(wire.ReasonExecOutputNotRegular, fmt.Errorf("output %q: %w", f.path, err))
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", f.path, err)
	}
	if !fi.Mode().IsRegular() || !os.SameFile(fi, f.info) {
		return nil, wire.PermanentReason(wire.ReasonExecOutputNotRegular,
			fmt.Errorf("output %q was replaced after it was listed", f.path))
	}
	var buf bytes.Buffer
	buf.Grow(int(min(fi.Size(), budget)) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(fh, budget+1)); err != nil {
		return nil, fmt.Errorf("output %q: %w", f.path, err)
	}
	if int64(buf.Len()) > budget {
		return nil, wire.PermanentReason(wire.ReasonExecOutputTooLarge,
			fmt.Errorf("output over %d bytes (%s grew after it was listed)", limit, f.path))
	}
	return buf.Bytes(), nil
}
