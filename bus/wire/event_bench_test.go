package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// benchPayload is a typical node event (~250 bytes), as regen bench publishes.
func benchPayload(b *testing.B) []byte {
	b.Helper()
	data, err := json.Marshal(wire.ChangeEvent{ID: "6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f", ChangeType: wire.NodeAdded,
		Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC), Subject: "urn:bench:Node42",
		Source: "regen-bench", Properties: wire.MustProperties(map[string]any{"rdfs:label": "Node 42",
			"rdfs:comment": "A benchmark node.", "n": 42})})
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeChangeEvent is the first step of every event on the hot path.
func BenchmarkDecodeChangeEvent(b *testing.B) {
	data := benchPayload(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.DecodeChangeEvent(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeChangeEventParallel decodes from every P at once, as the
// workers of a cycle do.
func BenchmarkDecodeChangeEventParallel(b *testing.B) {
	data := benchPayload(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := wire.DecodeChangeEvent(data, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
