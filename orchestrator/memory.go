package orchestrator

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
)

// cgroupHeadroom is how close to the cgroup memory limit the resident set
// may come before the health loop goes critical (within 10%).
const cgroupHeadroom = 0.10

// memSample is the process's memory at one instant.
type memSample struct {
	Heap      uint64 // bytes in heap objects, live or not yet swept
	RSS       uint64 // resident set size; 0 when unknown (not Linux)
	CgroupMax uint64 // cgroup v2 memory.max; 0 when none or unknown
}

// memPaths say where to read the resident set and the cgroup limit
// (tests point them at temporary files).
type memPaths struct {
	statm      string // /proc/self/statm
	cgroup     string // /proc/self/cgroup
	cgroupRoot string // /sys/fs/cgroup
}

var defaultMemPaths = memPaths{statm: "/proc/self/statm", cgroup: "/proc/self/cgroup", cgroupRoot: "/sys/fs/cgroup"}

// readMemory samples the heap (runtime/metrics: no stop-the-world), the
// resident set and the cgroup limit. Missing files read as unknown (0).
func readMemory(p memPaths) memSample {
	return memSample{Heap: heapBytes(), RSS: readRSS(p.statm), CgroupMax: cgroupMemoryMax(p.cgroup, p.cgroupRoot)}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// readRSS reads the resident set from a statm file (second field, pages).
func readRSS(statm string) uint64 {
	b, err := os.ReadFile(statm)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// cgroupMemoryMax reads memory.max of this process's cgroup v2 (its own
// directory, else the root's as seen in a container); 0 for "max" or none.
func cgroupMemoryMax(cgroupFile, root string) uint64 {
	rel := "/"
	if b, err := os.ReadFile(cgroupFile); err == nil {
		for line := range strings.Lines(string(b)) {
			if after, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
				rel = after
			}
		}
	}
	for _, dir := range []string{filepath.Join(root, rel), root} {
		b, err := os.ReadFile(filepath.Join(dir, "memory.max"))
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0 // "max": no limit
		}
		return n
	}
	return 0
}

// memoryPressure reports whether m is critical: the heap over limit
// (bytes, 0 = none), or the resident set within cgroupHeadroom of the
// cgroup limit. reason names the rule that fired.
func memoryPressure(m memSample, limit uint64) (reason string, critical bool) {
	if limit > 0 && m.Heap > limit {
		return "heap_over_limit", true
	}
	if m.CgroupMax > 0 && m.RSS > 0 && float64(m.RSS) >= (1-cgroupHeadroom)*float64(m.CgroupMax) {
		return "near_cgroup_limit", true
	}
	return "", false
}
