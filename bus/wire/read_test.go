package wire_test

import (
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

func TestReadChangesNumbersLinesAndNamesTheBadOne(t *testing.T) {
	t.Parallel()
	in := `{"id":"a","change_type":"node_added","subject":"urn:a"}` + "\n\n" +
		`{"id":"b","change_type":"node_added","subject":"urn:b"}` + "\n{oops\n" +
		`{"id":"c","change_type":"node_added","subject":"urn:c"}` + "\n"
	var seqs []uint64
	var last error
	for ch, err := range wire.ReadChanges(strings.NewReader(in)) {
		if err != nil {
			last = err
			continue
		}
		seqs = append(seqs, ch.Seq)
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 3 {
		t.Fatalf("seqs = %v, want [1 3]: blank lines keep their number", seqs)
	}
	if last == nil || !strings.HasPrefix(last.Error(), "line 4:") || wire.ReasonOf(last) != wire.ReasonBadJSON {
		t.Fatalf("err = %v, want line 4 refused as bad_json, and nothing after it", last)
	}
}
