package benchkit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/regen-dev/regen/bus"
)

// nodeEvent is a valid node_added event over nodes urn:bench:Node<i%nodes>,
// about the size of a real one (~250 bytes of JSON).
func nodeEvent(i, nodes int) (bus.ChangeEvent, []byte) {
	ev := bus.ChangeEvent{ID: uuid.NewString(), ChangeType: bus.NodeAdded, Timestamp: time.Now().UTC(),
		Subject: fmt.Sprintf("urn:bench:Node%d", i%nodes), Source: "regen-bench",
		Properties: bus.MustProperties(map[string]any{"rdfs:label": fmt.Sprintf("Node %d", i), "rdfs:comment": "A benchmark node.", "n": i})}
	data, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("benchkit: marshal a fixed event shape: %v", err)) // cannot happen
	}
	return ev, data
}

// genNodes returns a generator over the given number of distinct nodes.
func genNodes(nodes int) func(int) (bus.ChangeEvent, []byte) {
	return func(i int) (bus.ChangeEvent, []byte) { return nodeEvent(i, nodes) }
}
