package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rss fills the RSS backlog and drains it with a child process (the regen
// binary), sampling its VmRSS meanwhile. Without a child command, or off
// Linux, the figure stays null with the reason.
func (s *suite) rss(ctx context.Context) error {
	z := s.cfg.Sizes
	if len(s.cfg.ChildCommand) == 0 {
		s.rep.Errors["rss_mb_100k"] = "no child command configured"
		return nil
	}
	batch, events := z.NoopBatch, wholeBatches(z.RSSEvents, z.NoopBatch)
	if err := s.env.prepare(ctx, events, 2*(z.NoopConcurrency+batch)); err != nil {
		return err
	}
	res, samples, err := s.runChild(ctx, childSpec{URL: s.env.url(), Events: events,
		Concurrency: z.NoopConcurrency, Batch: batch, FetchWait: z.FetchWait.String()})
	if err != nil {
		if errors.Is(err, errNoProc) {
			s.rep.Errors["rss_mb_100k"] = err.Error()
			return nil
		}
		return err
	}
	s.rep.Detail.RSS = rssDetail(events, res, samples)
	peak := s.rep.Detail.RSS.PeakMB
	s.rep.RSSMB100k = &peak
	s.progress("rss: %d events in %.1fs, peak %.1f MB, goroutines %d -> %d", res.Processed, res.Seconds,
		peak, res.GoroutinesBefore, res.GoroutinesAfter)
	if res.Processed < int64(events) {
		return fmt.Errorf("bench child drained %d of %d events", res.Processed, events)
	}
	return nil
}

// runChild starts the child, samples its VmRSS every 50ms until it exits
// and returns its result and the samples (MB).
func (s *suite) runChild(ctx context.Context, spec childSpec) (childResult, []float64, error) {
	env, err := json.Marshal(spec)
	if err != nil {
		return childResult{}, nil, fmt.Errorf("bench child spec: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.cfg.ChildCommand[0], s.cfg.ChildCommand[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"="+string(env))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return childResult{}, nil, fmt.Errorf("bench child start: %w", err)
	}
	samples := sampleRSS(cmd.Process.Pid)
	err = cmd.Wait()
	rss := samples()
	if err != nil {
		return childResult{}, nil, fmt.Errorf("bench child: %w: %s", err, lastLine(stderr.Bytes()))
	}
	if stderr.Len() > 0 {
		s.progress("child stderr:\n%s", stderr.String())
	}
	var res childResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return childResult{}, nil, fmt.Errorf("bench child output %q: %w", stdout.String(), err)
	}
	return res, rss, nil
}

// sampleRSS samples pid's VmRSS every 50ms in the background; the
// returned func stops sampling and returns the samples in MB.
func sampleRSS(pid int) func() []float64 {
	var mu sync.Mutex
	var out []float64
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			if kb, err := procStatusKB(strconv.Itoa(pid), "VmRSS"); err == nil {
				mu.Lock()
				out = append(out, float64(kb)/1024)
				mu.Unlock()
			}
		}
	}()
	return func() []float64 {
		close(quit)
		<-exited
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// rssDetail summarises the child's run: peak, early (at a quarter of the
// drain, after the first cycles) and late RSS, and at most 20 samples.
func rssDetail(events int, res childResult, samples []float64) RSSDetail {
	d := RSSDetail{Events: events, Seconds: res.Seconds, PeakMB: float64(res.HWMKB) / 1024,
		GoroutinesBefore: res.GoroutinesBefore, GoroutinesAfter: res.GoroutinesAfter}
	if n := len(samples); n > 0 {
		d.EarlyMB, d.EndMB = samples[n/4], samples[n-1]
		step := max(n/20, 1)
		for i := 0; i < n; i += step {
			d.SamplesMB = append(d.SamplesMB, samples[i])
		}
	}
	return d
}

// procStatusKB reads one "kB" field (VmRSS, VmHWM) of /proc/<pid>/status.
func procStatusKB(pid, field string) (int64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoProc, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/status %s: %w", pid, field, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: %s not in /proc/%s/status", errNoProc, field, pid)
}
