package deploy

import (
	"errors"
	"strings"
	"syscall"

	"github.com/regen-dev/regen/bus/wire"
)

// classifyFS marks the file-system errors that the artifact's path
// causes, whatever the machine, as permanent, each with its reason: a
// name the file system finds too long, a path that clashes with what is
// there (a directory where the file goes, a file where a directory
// goes), a path that a symlink inside the root leads out of it. Every
// other error (a full disk, permissions, I/O) is the environment's and
// stays transient.
func classifyFS(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENAMETOOLONG):
		return wire.PermanentReason(wire.ReasonPathTooLong, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENOTEMPTY):
		return wire.PermanentReason(wire.ReasonPathConflict, err)
	case errors.Is(err, syscall.ELOOP), isRootEscape(err):
		return wire.PermanentReason(wire.ReasonPathEscapes, err)
	}
	return err
}

// isRootEscape recognises os.Root's refusal of a path that leaves the
// root (through a symlink or ".."): the os package keeps that error
// unexported, so its message is what identifies it.
func isRootEscape(err error) bool {
	return strings.Contains(err.Error(), "path escapes from parent")
}
