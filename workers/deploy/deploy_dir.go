package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// PrevDir is where Dir keeps the previous version of each deployed file,
// for Rollback: deploying "a/b.go" over an older one leaves the old one as
// ".regen/prev/a/b.go" (and deleting it moves it there), outside the
// output tree proper (tools such as the Go toolchain skip dot folders).
// Artifact paths inside it are refused.
const PrevDir = ".regen/prev"

// Dir writes artifacts under a directory. Writes are atomic (temp
// file in the same directory, fsync, rename, fsync of the directory) and
// confined to Root through os.Root, so neither ".." nor a symlink inside
// Root can lead outside it. It is safe for concurrent use.
type Dir struct {
	// Root is the deploy directory; it is created if missing. Required.
	Root string
	// Ledger skips unchanged and stale artifacts; nil deploys everything.
	Ledger *Ledger
	// Validate, when set, checks each artifact but a delete before it is
	// deployed (Validators.Hook builds it); a refusal leaves what is
	// deployed as it is. Its error is permanent (reason
	// wire.ReasonValidation) unless it matches ErrValidatorUnavailable or
	// ctx has ended.
	Validate func(context.Context, wire.Artifact) error
}

// Deploy writes (or, for a.Delete, removes) a.Path under Root. deployed is
// false when the ledger skipped it as unchanged or stale.
func (d *Dir) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	if reserved(a.Path) {
		return false, wire.PermanentReason(wire.ReasonUnsafePath,
			fmt.Errorf("deploy %s: %w: .regen/ is reserved for previous versions", a.Path, wire.ErrUnsafePath))
	}
	return deploy(ctx, d.Ledger, d.Validate, a, func(_ context.Context, p string) error {
		return classifyFS(d.withRoot(func(r *os.Root) error {
			if a.Delete {
				return removeFile(r, p)
			}
			return writeAtomic(r, p, a.Content)
		}))
	})
}

// reserved reports whether p is in the folder of previous versions.
func reserved(p string) bool { return p == ".regen" || strings.HasPrefix(p, ".regen/") }

func (d *Dir) withRoot(fn func(*os.Root) error) error { return d.inRoot(true, fn) }

// inRoot runs fn on Root, created first if create is set.
func (d *Dir) inRoot(create bool, fn func(*os.Root) error) error {
	if d.Root == "" {
		return errors.New("dir deployer: field Root is empty")
	}
	if create {
		if err := os.MkdirAll(d.Root, 0o755); err != nil {
			return fmt.Errorf("dir deployer: %w", err)
		}
	}
	r, err := os.OpenRoot(d.Root)
	if err != nil {
		return fmt.Errorf("dir deployer: %w", err)
	}
	defer r.Close()
	return fn(r)
}

// writeAtomic replaces p with content, keeping the old file in PrevDir.
func writeAtomic(r *os.Root, p string, content []byte) error {
	dir := path.Dir(p)
	if err := r.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = wire.PermanentReason(wire.ReasonPathConflict, fmt.Errorf("%w: a file is in the way", err))
		}
		return fmt.Errorf("deploy %s: mkdir: %w", p, err)
	}
	if fi, err := r.Lstat(p); err == nil && fi.IsDir() {
		return wire.PermanentReason(wire.ReasonPathConflict, fmt.Errorf("deploy %s: a directory is in the way", p))
	}
	tmp, err := writeTemp(r, p, content)
	if err != nil {
		return err
	}
	if err := keepPrevious(r, p); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	if err := r.Rename(tmp, p); err != nil {
		_ = r.Remove(tmp)
		return fmt.Errorf("deploy %s: rename: %w", p, err)
	}
	return syncDir(r, dir)
}

func writeTemp(r *os.Root, p string, content []byte) (string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := p + ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("deploy %s: create temp: %w", p, err)
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = r.Remove(tmp)
		return "", fmt.Errorf("deploy %s: write temp: %w", p, err)
	}
	return tmp, nil
}

// prevPath is where the previous version of p is kept.
func prevPath(p string) string { return PrevDir + "/" + p }

// keepPrevious hard-links the current p to its place in PrevDir (p stays
// in place until the rename replaces it).
func keepPrevious(r *os.Root, p string) error {
	if _, err := r.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing to keep
	}
	prev := prevPath(p)
	if err := r.MkdirAll(path.Dir(prev), 0o755); err != nil {
		return fmt.Errorf("deploy %s: previous versions folder: %w", p, err)
	}
	if err := r.Remove(prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deploy %s: remove previous: %w", p, err)
	}
	if err := r.Link(p, prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deploy %s: keep previous: %w", p, err)
	}
	return nil
}

// removeFile moves p to PrevDir (so a delete can be rolled back too).
func removeFile(r *os.Root, p string) error {
	if _, err := r.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := r.MkdirAll(path.Dir(prevPath(p)), 0o755); err != nil {
		return fmt.Errorf("delete %s: previous versions folder: %w", p, err)
	}
	err := r.Rename(p, prevPath(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return syncDir(r, path.Dir(p))
}

func syncDir(r *os.Root, dir string) error {
	f, err := r.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// ErrNoPrevious says Rollback found no previous version of a path in
// PrevDir: it was never overwritten nor deleted, or was already rolled
// back.
var ErrNoPrevious = errors.New("no previous version")

// Rollback puts the previous version of p (in PrevDir) back in place
// (what was there is replaced, and is not kept) and returns the hash of
// the content it restored. With a Ledger it records that hash (keeping
// the revision, so a redeploy of the same revision's newer content is not
// refused as stale); an error then may follow a restore that succeeded,
// and says so. Root must exist.
func (d *Dir) Rollback(ctx context.Context, name string) (string, error) {
	p, err := wire.CleanPath(name)
	if err == nil && reserved(p) {
		err = fmt.Errorf("%w: %s is where previous versions are kept", wire.ErrUnsafePath, PrevDir)
	}
	if err != nil {
		return "", fmt.Errorf("rollback %s: %w", name, err)
	}
	var content []byte
	err = d.inRoot(false, func(r *os.Root) (err error) {
		content, err = restore(r, p)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rollback %s: %w", p, err)
	}
	hash := wire.ContentHash(content)
	if d.Ledger == nil {
		return hash, nil
	}
	err = d.Ledger.Amend(ctx, p, func(rec *LedgerRecord) {
		rec.Hash, rec.Deleted, rec.Pending, rec.DeployedAt = hash, false, false, time.Now()
	})
	if err != nil {
		return hash, fmt.Errorf("rollback %s: restored, but the ledger was not updated: %w", p, err)
	}
	return hash, nil
}

// restore moves the previous version of p back to p and returns its
// content.
func restore(r *os.Root, p string) ([]byte, error) {
	content, err := r.ReadFile(prevPath(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoPrevious, PrevDir)
	}
	if err != nil {
		return nil, err
	}
	if err := r.MkdirAll(path.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("mkdir: %w", err)
	}
	if err := r.Rename(prevPath(p), p); err != nil {
		return nil, err
	}
	return content, syncDir(r, path.Dir(p))
}

func wrapIf(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
