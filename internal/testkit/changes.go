package testkit

import (
	"fmt"
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
	for ch, err := range wire.ReadChanges(f) {
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ch.ExecutionID = "exec-test"
		out = append(out, ch)
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

// CostTemplate is a node template named name whose body runs a range of
// iterations comparisons before writing the node's subject, so that its
// render costs in proportion to iterations (the cost-accounting tests).
func CostTemplate(name string, iterations int) string {
	return fmt.Sprintf("---\nname: %s\noutput: %s/{{ shortHash .Node.Subject }}.txt\n---\n"+
		"{{ range $i := %d }}{{ if eq $i -1 }}never{{ end }}{{ end }}{{ .Node.Subject }}\n", name, name, iterations)
}
