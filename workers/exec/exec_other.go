//go:build !unix

package exec

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"time"
)

// becomeSubreaper fails: there are no child subreapers on this platform.
func becomeSubreaper() error { return errors.ErrUnsupported }

// waitAndSettle waits for the generator; what it started is not tracked on
// this platform.
func waitAndSettle(cmd *exec.Cmd, _ string, _ time.Duration) (werr, serr error) {
	return cmd.Wait(), nil
}

// fileKey does not know file identities or link counts on this platform.
func fileKey(fs.FileInfo) (key [2]uint64, nlink uint64, ok bool) { return key, 0, false }

// openOutput opens an output file for reading.
func openOutput(p string) (*os.File, error) { return os.Open(p) }
