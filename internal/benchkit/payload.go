package benchkit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/google/uuid"
)

// nodeEvent is a valid node_added event over nodes urn:bench:Node<i%nodes>,
// about the size of a real one (~250 bytes of JSON).
func nodeEvent(i, nodes int) (wire.ChangeEvent, []byte) {
	ev := wire.ChangeEvent{ID: uuid.NewString(), ChangeType: wire.NodeAdded, Timestamp: time.Now().UTC(),
		Subject: fmt.Sprintf("urn:bench:Node%d", i%nodes), Source: "regen-bench",
		Properties: wire.MustProperties(map[string]any{"rdfs:label": fmt.Sprintf("Node %d", i), "rdfs:comment": "A benchmark node.", "n": i})}
	data, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("benchkit: marshal a fixed event shape: %v", err)) // cannot happen
	}
	return ev, data
}

// genNodes returns a generator over the given number of distinct nodes.
func genNodes(nodes int) func(int) (wire.ChangeEvent, []byte) {
	return func(i int) (wire.ChangeEvent, []byte) { return nodeEvent(i, nodes) }
}
