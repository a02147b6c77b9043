package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wmResult is what the bench/watermill program prints.
type wmResult struct {
	Events        int     `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerS    float64 `json:"events_per_s"`
	Subscriber    string  `json:"subscriber"`
	Watermill     string  `json:"watermill"`
	WatermillNATS string  `json:"watermill_nats"`
}

// buildWatermill builds the bench/watermill module into the run's
// directory and returns the binary's path.
func (s *suite) buildWatermill(ctx context.Context) (string, error) {
	if s.cfg.WatermillDir == "" {
		return "", errors.New("no watermill module directory configured")
	}
	bin := filepath.Join(s.env.dir, "watermill-bench")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = s.cfg.WatermillDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w: %s", s.cfg.WatermillDir, err, lastLine(out))
	}
	return bin, nil
}

// runWatermill runs the Watermill program once against the run's server.
func (s *suite) runWatermill(ctx context.Context, bin string, events int, work time.Duration) (wmResult, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-url", s.env.url(), "-events", strconv.Itoa(events),
		"-work", work.String())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wmResult{}, fmt.Errorf("watermill run: %w: %s", err, lastLine(stderr.Bytes()))
	}
	var res wmResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return wmResult{}, fmt.Errorf("watermill output: %w", err)
	}
	if res.Events != events || res.EventsPerS <= 0 {
		return wmResult{}, fmt.Errorf("watermill output: %d events at %.1f/s, want %d", res.Events, res.EventsPerS, events)
	}
	return res, nil
}

// watermill measures Watermill on the no-op and the I/O workloads and
// divides regen's figures (measured earlier in this run) by them. If the
// module cannot be built or run, both ratios stay null with the reason.
func (s *suite) watermill(ctx context.Context) error {
	z := s.cfg.Sizes
	bin, err := s.buildWatermill(ctx)
	var noop, io wmResult
	if err == nil {
		noop, err = s.runWatermill(ctx, bin, z.WatermillNoopEvents, 0)
	}
	if err == nil {
		io, err = s.runWatermill(ctx, bin, z.WatermillIOEvents, z.IOWork)
	}
	if err != nil {
		s.rep.Errors["watermill_ratio_noop"] = err.Error()
		s.rep.Errors["watermill_ratio_io64"] = err.Error()
		s.progress("watermill: not measured: %v", err)
		return nil
	}
	d := &s.rep.Detail
	d.WatermillNoopEventsPerS, d.WatermillIOEventsPerS = noop.EventsPerS, io.EventsPerS
	d.WatermillVersions = fmt.Sprintf("watermill %s, watermill-nats %s (%s)", noop.Watermill, noop.WatermillNATS, noop.Subscriber)
	s.rep.WatermillRatioNoop = ratio(median(d.RegenNoopEventsPerS), noop.EventsPerS)
	s.rep.WatermillRatioIO64 = ratio(d.EfficiencyEventsPerS["64"], io.EventsPerS)
	s.progress("watermill: no-op %.0f/s, io %.0f/s", noop.EventsPerS, io.EventsPerS)
	return nil
}

func ratio(a, b float64) *float64 {
	if a <= 0 || b <= 0 {
		return nil
	}
	r := a / b
	return &r
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
