package exec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// stdio is the generator's stdin and output (stdout and stderr together)
// on pipes that regen owns. Because os/exec is handed *os.File ends, it
// copies nothing itself and Wait returns as soon as the generator exits,
// however long a background child keeps a pipe open (os/exec's own pipes
// would hold Wait until WaitDelay and then fail it with ErrWaitDelay).
type stdio struct {
	childIn, childOut *os.File // the generator's ends, closed once it started
	in, out           *os.File // regen's ends
	tail              tailBuffer
	fed, drained      chan struct{}
}

// newStdio makes the pipes and gives cmd its ends.
func newStdio(cmd *exec.Cmd) (*stdio, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("output pipe: %w", err), inR.Close(), inW.Close())
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
	return &stdio{childIn: inR, childOut: outW, in: inW, out: outR,
		fed: make(chan struct{}), drained: make(chan struct{})}, nil
}

// abort closes every end of a generator that never started.
func (s *stdio) abort() {
	for _, f := range []*os.File{s.childIn, s.childOut, s.in, s.out} {
		f.Close()
	}
}

// started closes the generator's ends (it has its own copies), then
// writes input to its stdin and keeps the tail of its output, each in a
// goroutine that finish waits for.
func (s *stdio) started(input []byte) {
	s.childIn.Close()
	s.childOut.Close()
	go func() {
		defer close(s.fed)
		s.in.Write(input) // a generator may exit without reading its stdin
		s.in.Close()
	}()
	go func() {
		defer close(s.drained)
		io.Copy(&s.tail, s.out)
	}()
}

// finish waits up to d for the output to reach end of file (every writer
// gone), then closes regen's ends, which also ends a stdin write that
// nobody reads. It reports whether the output was still held open.
func (s *stdio) finish(d time.Duration) (held bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.drained:
	case <-t.C:
		held = true
	}
	s.out.Close()
	s.in.Close()
	<-s.drained
	<-s.fed
	return held
}

// output is the tail of what the generator wrote; only after finish.
func (s *stdio) output() string { return s.tail.String() }

// tailBuffer keeps the last 4 KiB written to it (the generator's output,
// for the error message).
type tailBuffer struct{ b []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
