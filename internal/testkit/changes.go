package testkit

import (
	"bufio"
	"bytes"
	"os"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

// LoadChanges reads a JSON-lines file of change events; each change's Seq
// is its line number.
func LoadChanges(t testing.TB, file string) []wire.Change {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []wire.Change
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ev, err := wire.DecodeChangeEvent(bytes.Clone(sc.Bytes()), 0) // the event shares its payload
		if err != nil {
			t.Fatalf("%s line %d: %v", file, len(out)+1, err)
		}
		out = append(out, wire.Change{Event: ev, Seq: uint64(len(out) + 1), ExecutionID: "exec-test"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// NodeChange is a node change at stream sequence seq.
func NodeChange(seq uint64, typ wire.ChangeType, subject string, props map[string]any) wire.Change {
	return wire.Change{Seq: seq, ExecutionID: "x", Event: wire.ChangeEvent{
		ID: "ev-" + subject + "-" + string(typ), ChangeType: typ, Subject: subject, Properties: wire.MustProperties(props)}}
}

// EdgeChange is an edge change at stream sequence seq.
func EdgeChange(seq uint64, typ wire.ChangeType, subject, pred, obj string) wire.Change {
	ch := NodeChange(seq, typ, subject, nil)
	ch.Event.Predicate, ch.Event.Object = &pred, &obj
	return ch
}
