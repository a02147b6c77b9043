package exec

import (
	"github.com/regen-dev/regen/internal/procgroup"

	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// subreaper records whether the regen process became a child subreaper.
var subreaper struct {
	once sync.Once
	err  error
}

// becomeSubreaper makes this process a child subreaper: a process a
// generator detaches (setsid, double fork) is re-parented to regen instead
// of init when its parent dies, so the engine can kill and reap it. regen
// reaps only the processes it identifies as a run's (see sweep), never with
// wait(-1), so the exit status of any other child (os/exec's) is never
// taken from its owner; zombies no run claims are reaped only when no
// pidfd of this process refers to them (see reapStrays). On failure (the
// error it returns, every time) runs still kill what they find, and init
// reaps it.
func becomeSubreaper() error {
	subreaper.once.Do(func() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			subreaper.err = fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
		}
	})
	return subreaper.err
}

// waitAndSettle waits for the generator to exit without reaping it: its
// zombie pins its pid, so its process-group id cannot name another group
// while the engine kills what the run left. Then it reaps the generator.
func waitAndSettle(cmd *exec.Cmd, token string, d time.Duration) (werr, serr error) {
	pid := cmd.Process.Pid
	if err := waitExited(pid); err != nil {
		werr = cmd.Wait()
		return werr, settleGroup(pid, d)
	}
	serr = settle(pid, []byte(RunTokenVar+"="+token+"\x00"), d)
	return cmd.Wait(), serr
}

// waitExited blocks until process pid has exited, leaving it waitable.
func waitExited(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// settle kills every process of the run whose generator, leader, exited
// and is not reaped yet, and reaps those that are regen's children, until
// none remains or d passes.
func settle(leader int, mark []byte, d time.Duration) error {
	deadline := time.Now().Add(d)
	r := &runProcs{leader: leader, mark: mark, seen: make(map[procID]bool), groups: map[int]bool{leader: true}}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if err := procgroup.Kill(leader); err != nil {
			return err
		}
		left, err := r.sweep()
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of the run survived SIGKILL for %s", left, d)
		}
		time.Sleep(delay)
	}
}

// procID names one process across pid reuse: its pid and start time.
type procID struct {
	pid   int
	start uint64
}

// runProcs is what settle knows of a run's processes. A process is the
// run's if it is in the leader's group, carries the run's token in its
// environment, is in a group or session that one of the run's processes
// leads (a detached child's children, whatever their environment), or
// was found in an earlier pass (a zombie's environment reads empty). A
// group or session id is trusted only during one settle: it cannot be
// reused before the pid space wraps around.
type runProcs struct {
	leader int
	mark   []byte
	seen   map[procID]bool
	groups map[int]bool // ids of groups and sessions the run's processes lead
}

// sweep makes one pass over /proc: it kills each of the run's processes
// and reaps those that are regen's children, and returns those not gone
// yet. It never touches the leader, which os/exec reaps.
func (r *runProcs) sweep() ([]int, error) {
	procs, err := snapshot(r.leader)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var left []int
	for _, p := range r.identify(procs) {
		if p.state != 'Z' {
			kill(p.procID)
		}
		if p.ppid == self && reap(p.pid) {
			continue
		}
		left = append(left, p.pid)
	}
	reapStrays(r.leader, procs, r.seen)
	return left, nil
}

// reapStrays reaps the zombie children of regen that nobody will wait
// for: orphans re-parented to it, the subreaper, that no run could claim
// (one that left its group and exited before its run looked has an empty
// environment). os/exec holds a pidfd for every child until it has waited
// for it, so a zombie child with no pidfd in this process is such an
// orphan. The pidfds are read after procs, so every zombie in procs that
// is os/exec's already had its pidfd; each is checked again by start time
// before it is reaped. Nothing is reaped unless the leader's own pidfd is
// found: without pidfds, os/exec's children cannot be told apart.
func reapStrays(leader int, procs []procStat, seen map[procID]bool) {
	self := os.Getpid()
	var strays []procID
	for _, p := range procs {
		if p.ppid == self && p.state == 'Z' && !seen[p.procID] {
			strays = append(strays, p.procID)
		}
	}
	if len(strays) == 0 {
		return
	}
	held, err := pidfdPids()
	if err != nil || !held[leader] {
		return
	}
	for _, id := range strays {
		if st, ok := readStat(id.pid); ok && !held[id.pid] && st.start == id.start && st.state == 'Z' && st.ppid == self {
			reap(id.pid)
		}
	}
}

// pidfdPids is the set of pids that this process holds a pidfd for (the
// "Pid:" line of /proc/self/fdinfo/<fd>).
func pidfdPids() (map[int]bool, error) {
	ents, err := os.ReadDir("/proc/self/fdinfo")
	if err != nil {
		return nil, fmt.Errorf("pidfds: %w", err)
	}
	held := make(map[int]bool)
	for _, ent := range ents {
		b, err := os.ReadFile("/proc/self/fdinfo/" + ent.Name())
		if err != nil {
			continue // closed meanwhile
		}
		_, rest, ok := bytes.Cut(b, []byte("\nPid:\t"))
		if !ok {
			continue
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		if pid, err := strconv.Atoi(string(line)); err == nil {
			held[pid] = true
		}
	}
	return held, nil
}

// identify returns the run's processes among procs, growing r.seen and
// r.groups until a pass over procs adds nothing.
func (r *runProcs) identify(procs []procStat) []procStat {
	var out []procStat
	known := make([]bool, len(procs)) // by token or from an earlier pass: one environment read each
	for i, p := range procs {
		known[i] = r.seen[p.procID] || hasMark(p.pid, r.mark)
	}
	taken := make([]bool, len(procs))
	for grew := true; grew; {
		grew = false
		for i, p := range procs {
			if taken[i] || !(known[i] || r.groups[p.pgid] || r.groups[p.sid]) {
				continue
			}
			taken[i], grew = true, true
			r.seen[p.procID] = true
			if p.pid == p.pgid || p.pid == p.sid {
				r.groups[p.pid] = true
			}
			out = append(out, p)
		}
	}
	return out
}

// snapshot reads the stat of every process but this one and the leader.
func snapshot(leader int) ([]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	self := os.Getpid()
	procs := make([]procStat, 0, len(ents))
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == leader || pid == self {
			continue
		}
		if st, ok := readStat(pid); ok {
			procs = append(procs, st)
		}
	}
	return procs, nil
}

// procStat is what sweep reads from /proc/<pid>/stat.
type procStat struct {
	procID
	state           byte
	ppid, pgid, sid int
}

// readStat parses /proc/<pid>/stat; ok is false once the process is gone.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:]) // state ppid pgrp session ... starttime (field 22 of the line)
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgid, err2 := strconv.Atoi(string(f[2]))
	sid, err3 := strconv.Atoi(string(f[3]))
	start, err4 := strconv.ParseUint(string(f[19]), 10, 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return procStat{}, false
	}
	return procStat{procID: procID{pid, start}, state: f[0][0], ppid: ppid, pgid: pgid, sid: sid}, true
}

// hasMark reports whether process pid's environment holds mark. Another
// user's processes are unreadable, hence never the run's.
func hasMark(pid int, mark []byte) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && (bytes.HasPrefix(b, mark) || bytes.Contains(b, append([]byte{0}, mark...)))
}

// kill sends SIGKILL to process id through a pidfd, checking first that
// the pid still names the same process; a kernel without pidfds gets a
// plain kill.
func kill(id procID) {
	fd, err := unix.PidfdOpen(id.pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		syscall.Kill(id.pid, syscall.SIGKILL)
		return
	}
	if err != nil {
		return // gone
	}
	defer unix.Close(fd)
	if st, ok := readStat(id.pid); ok && st.start == id.start {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// reap collects the exit status of regen's child pid if it has exited.
// pid cannot be another owner's child: sweep only passes it the run's.
func reap(pid int) bool {
	var ws syscall.WaitStatus
	wpid, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	return err == nil && wpid == pid
}
