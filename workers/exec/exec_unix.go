//go:build unix

package exec

import (
	"github.com/regen-dev/regen/internal/procgroup"

	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// settleGroup kills process group pgid and waits until no process of it
// remains (kill(-pgid, 0) fails with ESRCH), for at most d. Its members are
// re-parented to init, which reaps them. Used where the generator was
// already reaped and its group cannot be pinned.
func settleGroup(pgid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if err := procgroup.Kill(pgid); err != nil {
			return err
		}
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.EPERM) { // EPERM: the id now names another user's group
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d survived SIGKILL for %s", pgid, d)
		}
		time.Sleep(delay)
	}
}

// fileKey is the identity of the file fi describes (device and inode) and
// its link count; ok is false where the platform does not say.
func fileKey(fi fs.FileInfo) (key [2]uint64, nlink uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return key, 0, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, uint64(st.Nlink), true // the field types differ by OS
}

// openOutput opens an output file for reading without following a
// symlink, and without blocking on a FIFO, swapped in after it was listed.
func openOutput(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
