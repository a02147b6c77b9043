//go:build linux

package exec

import (
	"bytes"
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// leave starts, before the rest of a script runs, the processes a careless
// generator leaves behind, each writing its pid to a file in $PIDS: a
// background child (it holds stdout and stdin open), one with an empty
// environment, one detached into a session of its own (setsid), and a
// child of a detached one with an empty environment. It waits until the
// detached ones have left the generator's process group.
const leave = `
sleep 1000 & echo $! > "$PIDS/child"
env -i sleep 1000 & echo $! > "$PIDS/scrubbed"
setsid sh -c 'echo $$ > "$PIDS/d.tmp"; mv "$PIDS/d.tmp" "$PIDS/detached"; exec sleep 1000' &
setsid sh -c 'env -i sleep 1000 & echo $! > "$PIDS/g.tmp"; mv "$PIDS/g.tmp" "$PIDS/grandchild"; wait' &
until [ -e "$PIDS/detached" ] && [ -e "$PIDS/grandchild" ]; do :; done
`

// leftovers gives a generator $PIDS, a directory outside its scratch
// directory, and returns it; at the end of the test it kills whatever the
// generator left, so that a failing test leaves nothing behind either.
func leftovers(t *testing.T) (string, func(*Config)) {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		for _, pid := range pids(t, dir) {
			if !gone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				var ws syscall.WaitStatus
				syscall.Wait4(pid, &ws, 0, nil) // re-parented to this process, the subreaper
			}
		}
	})
	return dir, func(c *Config) { c.Env = append(c.Env, "PIDS="+dir) }
}

// pids reads the pid files in dir.
func pids(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			out[filepath.Base(f)] = pid
		}
	}
	return out
}

// gone reports whether process pid is gone, reaped and all (a zombie is
// not gone), or its pid now names a program other than sleep.
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err != nil || !bytes.Contains(b, []byte("(sleep)"))
}

// mustLeaveNothing checks, as soon as Regenerate returned, that every
// process the script left is gone.
func mustLeaveNothing(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := pids(t, dir)
	for _, name := range want {
		pid, ok := got[name]
		if !ok {
			t.Fatalf("the generator wrote no pid for %s (pids %v)", name, got)
		}
		if !gone(pid) {
			t.Errorf("process %s (pid %d) outlived the run", name, pid)
		}
	}
}

var leftNames = []string{"child", "scrubbed", "detached", "grandchild"}

func TestExecEngineKillsWhatTheGeneratorLeaves(t *testing.T) {
	t.Parallel()
	if err := becomeSubreaper(); err != nil {
		t.Logf("not a child subreaper (%v): detached processes are killed, init reaps them", err)
	}
	cases := []struct {
		name, script string
		reason       string // as in mustFail; "ok" for success
		deadline     bool
	}{
		{"success", leave + `echo out > out.txt`, "ok", false},
		{"failure", leave + `exit 1`, "", false},
		{"permanent failure", leave + `exit 65`, wire.ReasonExecRejected, false},
		{"timeout", leave + `sleep 30`, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, env := leftovers(t)
			e := sh(t, c.script, env, func(cfg *Config) { cfg.Timeout = 3 * time.Second })
			start := time.Now()
			arts, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
			if c.reason == "ok" {
				if err != nil || len(arts) != 1 {
					t.Fatalf("arts = %v, err = %v: a background child holding stdout must not fail the run", arts, err)
				}
			} else {
				mustFail(t, err, c.reason)
			}
			if errors.Is(err, context.DeadlineExceeded) != c.deadline {
				t.Fatalf("err = %v, want deadline %v", err, c.deadline)
			}
			if d := time.Since(start); !c.deadline && d > 2*time.Second {
				t.Errorf("took %s: the run waited for what it left", d)
			}
			mustLeaveNothing(t, dir, leftNames...)
		})
	}
}

func TestExecEngineCancellationKillsWhatTheGeneratorLeaves(t *testing.T) {
	t.Parallel()
	dir, env := leftovers(t)
	e := sh(t, leave+`touch "$PIDS/ready"; sleep 30`, env, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := e.Regenerate(ctx, execChange("urn:x:A"))
		done <- err
	}()
	testkit.WaitFor(t, 10*time.Second, "the generator to start its children", func() bool {
		_, err := os.Stat(filepath.Join(dir, "ready"))
		return err == nil
	})
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Regenerate did not return after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) || wire.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient cancellation", err)
	}
	mustLeaveNothing(t, dir, leftNames...)
}

func TestExecEngineOutputHeldByAProcessItCannotFind(t *testing.T) {
	t.Parallel()
	// Detached and with an empty environment, this sleep carries no trace
	// of the run; it holds the generator's stdout open.
	dir, env := leftovers(t)
	e := sh(t, `setsid env -i sleep 1000 & pid=$!; echo $pid > "$PIDS/hidden"
until [ "$(cut -d' ' -f2,6 /proc/$pid/stat)" = "(sleep) $pid" ]; do :; done`,
		env, func(cfg *Config) { cfg.ReapTimeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	mustFail(t, err, wire.ReasonExecOutputHeld)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s, want about ReapTimeout", d)
	}
	if pid := pids(t, dir)["hidden"]; gone(pid) {
		t.Fatalf("pid %d: the hidden process was found after all; this test no longer tests what it says", pid)
	}
}

func TestExecEngineUnreadStdinDoesNotHang(t *testing.T) {
	t.Parallel()
	dir, env := leftovers(t)
	e := sh(t, `sleep 1000 & echo $! > "$PIDS/child"; echo done > out.txt`, env)
	ch := execChange("urn:x:A")
	ch.Event.Properties = wire.MustProperties(map[string]any{"blob": strings.Repeat("x", 1<<20)})
	arts, err := e.Regenerate(context.Background(), ch)
	if err != nil || len(arts) != 1 {
		t.Fatalf("arts = %v, err = %v", arts, err)
	}
	mustLeaveNothing(t, dir, "child")
}

func TestExecEngineReapsADetachedChildThatExitedFirst(t *testing.T) {
	t.Parallel()
	// The detached sleep exits at once; its parent, exec'd into a sleep
	// that never waits, leaves its zombie to regen, without an environment
	// that would name the run.
	dir, env := leftovers(t)
	e := sh(t, `setsid sleep 0 & echo $! > "$PIDS/zombie"; exec sleep 0.3`, env)
	if _, err := e.Regenerate(context.Background(), execChange("urn:x:A")); err != nil {
		t.Fatal(err)
	}
	mustLeaveNothing(t, dir, "zombie")
}

func TestExecEngineLeavesOtherChildrenToTheirOwners(t *testing.T) {
	t.Parallel()
	// A child of this process that another part of it started, exited
	// and not waited for yet, detached like a generator's orphan: a run's
	// sweep sees it, and must leave its exit status to its owner.
	other := osexec.Command("/bin/sh", "-c", "exit 3")
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the other child to exit", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(other.Process.Pid) + "/stat")
		return err == nil && bytes.Contains(b, []byte(") Z "))
	})
	e := sh(t, `echo out > out.txt`)
	if _, err := e.Regenerate(context.Background(), execChange("urn:x:A")); err != nil {
		t.Fatal(err)
	}
	var ee *osexec.ExitError
	if err := other.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("other child: Wait = %v, want exit status 3: its status was taken", err)
	}
}
