//go:build faults

package faultsuite

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/regen-dev/regen/internal/testkit"
)

// process is one child process; its stderr and stdout go to a log file
// under the test's temp dir, whose tail is printed when the test fails.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

var procSeq atomic.Int64

// startProcess starts argv[0] with argv[1:]; t.Cleanup kills it.
func startProcess(t *testing.T, name string, argv ...string) *process {
	t.Helper()
	logPath := filepath.Join(logDir(t), fmt.Sprintf("%s-%d.log", name, procSeq.Add(1)))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: exec.Command(argv[0], argv[1:]...), log: logPath, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s log (%s) tail:\n%s", name, logPath, tailFile(logPath, 2500))
		}
	})
	return p
}

// logDir is a directory for the test's process logs: a temp dir, or
// $FAULT_LOGS/<test> to keep them.
func logDir(t *testing.T) string {
	t.Helper()
	keep := os.Getenv("FAULT_LOGS")
	if keep == "" {
		return t.TempDir()
	}
	dir := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// kill sends SIGKILL and waits for the process to be gone; safe to call
// more than once.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// rssKB is the process's resident set size (VmRSS) in KiB, 0 if unknown.
func rssKB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(testkit.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

// listening reports whether addr accepts TCP connections.
func listening(addr string) bool { return testkit.Listening(addr) }
