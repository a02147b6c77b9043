package console

// ring keeps the last cap values pushed. Not safe for concurrent use.
type ring[T any] struct {
	buf  []T
	next int
	full bool
	seq  uint64
}

func newRing[T any](n int) *ring[T] { return &ring[T]{buf: make([]T, max(n, 1))} }

// push adds v, dropping the oldest value when full.
func (r *ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
	r.seq++
}

// newest returns up to n values (n <= 0: all), newest first, that keep
// returns true for (nil: all).
func (r *ring[T]) newest(n int, keep func(T) bool) []T {
	size := r.next
	if r.full {
		size = len(r.buf)
	}
	out := make([]T, 0, min(size, max(n, 0)))
	for i := 1; i <= size && (n <= 0 || len(out) < n); i++ {
		v := r.buf[(r.next-i+len(r.buf))%len(r.buf)]
		if keep == nil || keep(v) {
			out = append(out, v)
		}
	}
	return out
}
