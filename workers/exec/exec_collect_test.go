package exec

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// peakRSS is this process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

func TestExecEngineRefusesAHugeSparseFileWithoutReadingIt(t *testing.T) {
	t.Parallel()
	e := sh(t, `truncate -s 1G big && echo small > small.txt`) // the default 64 MiB limit
	before := peakRSS(t)
	start := time.Now()
	_, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	mustFail(t, err, wire.ReasonExecOutputTooLarge)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: the file was read", d)
	}
	if grew := peakRSS(t) - before; grew > 200<<20 {
		t.Errorf("peak RSS grew by %d MiB: the file was read", grew>>20)
	}
}

func TestExecEngineRefusesAHardLinkToAFileOutside(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("not the generator's"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := sh(t, `ln "$OUTSIDE/secret" leak`, func(c *Config) { c.Env = []string{"OUTSIDE=" + outside} }) // both in the test's temp dir: one file system
	_, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	mustFail(t, err, wire.ReasonExecOutputHardlink)
}

func TestExecEngineKeepsHardLinksInsideItsScratchDir(t *testing.T) {
	t.Parallel()
	e := sh(t, `mkdir d && echo same > a && ln a d/b`)
	arts, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Path != "a" || arts[1].Path != "d/b" || !bytes.Equal(arts[0].Content, arts[1].Content) {
		t.Fatalf("artifacts = %+v", arts)
	}
}

func TestCollectRefusesAFileThatGrewAfterItWasListed(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	p := filepath.Join(scratch, "grows")
	if err := os.WriteFile(p, []byte("small"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := listOutputs(scratch, 1024)
	if err != nil || len(files) != 1 {
		t.Fatalf("files = %v, err = %v", files, err)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 4096), 0o600); err != nil { // same inode, now over the limit
		t.Fatal(err)
	}
	_, err = readOutput(files[0], 1024, 1024)
	mustFail(t, err, wire.ReasonExecOutputTooLarge)
}

func TestCollectRefusesAFileReplacedAfterItWasListed(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	p := filepath.Join(scratch, "swapped")
	if err := os.WriteFile(p, []byte("listed"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := listOutputs(scratch, 1024)
	if err != nil || len(files) != 1 {
		t.Fatalf("files = %v, err = %v", files, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", p); err != nil {
		t.Fatal(err)
	}
	_, err = readOutput(files[0], 1024, 1024)
	mustFail(t, err, wire.ReasonExecOutputNotRegular)
}
