package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"iter"
)

// ReadChanges yields the change events of a JSON-lines stream in order,
// each as a Change whose Seq is its line number (the stream sequence it
// would have had, published alone and in order). Blank lines are
// skipped. It stops at the first line that does not decode, yielding the
// error with the line's number. Each event owns its memory.
func ReadChanges(r io.Reader) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), MaxPayloadDefault+1)
		line := uint64(0)
		for sc.Scan() {
			line++
			data := bytes.TrimSpace(sc.Bytes())
			if len(data) == 0 {
				continue
			}
			ev, err := DecodeChangeEvent(bytes.Clone(data), 0) // the scanner reuses its buffer
			if err != nil {
				yield(Change{}, fmt.Errorf("line %d: %w", line, err))
				return
			}
			if !yield(Change{Event: ev, Seq: line}, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Change{}, fmt.Errorf("line %d: %w", line+1, err))
		}
	}
}
