package bus

import (
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
)

// HeaderOriginalPrefix prefixes every header of the original message in
// its dead letter: Nats-Msg-Id is stored as
// Regen-Original-Header-Nats-Msg-Id. Renamed, no original header can
// steer JetStream when the dead letter is stored (Nats-Expected-Stream,
// Nats-TTL, Nats-Rollup, Nats-Msg-Id, ...).
const HeaderOriginalPrefix = "Regen-Original-Header-"

// maxOriginalHeaderBytes bounds the original headers kept in a dead letter
// (names and values); the rest are dropped and counted in
// HeaderOriginalHeadersDropped.
const maxOriginalHeaderBytes = 8 << 10

// copyOriginalHeaders adds the headers of src to dst, renamed with
// HeaderOriginalPrefix, at most budget bytes of them: Nats-Msg-Id first,
// then the rest in name order. A header whose name the client refuses to
// publish (nats.go allows printable ASCII without separators) or that
// does not fit is dropped. It returns how many values it dropped.
func copyOriginalHeaders(dst, src nats.Header, budget int) (dropped int) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == nats.MsgIdHdr:
			return -1
		case b == nats.MsgIdHdr:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		name := HeaderOriginalPrefix + k
		for _, v := range src[k] {
			size := len(name) + len(v) + 4 // ": " and CRLF
			if !validHeaderKey(k) || size > budget {
				dropped++
				continue
			}
			budget -= size
			dst.Add(name, v)
		}
	}
	return dropped
}

// originalHeaders returns the original headers kept in a dead letter,
// under their own names. A dead letter written before headers were
// renamed carried the originals as they were: every header that is
// neither regen's own (Regen-*) nor JetStream's (Nats-*) is one of those.
func originalHeaders(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, HeaderOriginalPrefix); ok {
			out[name] = append(out[name], vs...)
			continue
		}
		if !hasPrefixFold(k, "Regen-") && !isControlHeader(k) {
			out[k] = append(out[k], vs...)
		}
	}
	return out
}

// replayHeaders is what a replay republishes of the original headers:
// all but JetStream's (Nats-*), which would steer or break the
// republish (an expected stream or sequence, a TTL, a rollup, the old
// Nats-Msg-Id inside the dedupe window).
func replayHeaders(original nats.Header) nats.Header {
	out := nats.Header{}
	for k, vs := range original {
		if !isControlHeader(k) {
			out[k] = slices.Clone(vs)
		}
	}
	return out
}

// isControlHeader reports a header that JetStream or the NATS server
// interprets: every such header begins with "Nats-".
func isControlHeader(k string) bool { return hasPrefixFold(k, "Nats-") }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validHeaderKey is nats.go's rule for a header name it will publish:
// printable ASCII (33..126) without "()/,:;<=>?@[\]{}. The server stores
// names the client refuses, so a dead letter must check.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if c < 33 || c > 126 || strings.IndexByte(`"()/,:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// headerBytes is the size of h on the wire, as nats.go encodes it.
func headerBytes(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
