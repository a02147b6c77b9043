package orchestrator

import (
	"os"
	"path/filepath"
	"testing"
)

func writeTemp(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadRSS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	statm := filepath.Join(dir, "statm")
	writeTemp(t, statm, "1000 250 100 1 0 300 0\n")
	if got, want := readRSS(statm), uint64(250*os.Getpagesize()); got != want {
		t.Fatalf("rss = %d, want %d", got, want)
	}
	if got := readRSS(filepath.Join(dir, "missing")); got != 0 {
		t.Fatalf("rss of a missing file = %d, want 0 (unknown)", got)
	}
}

func TestCgroupMemoryMax(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cg := filepath.Join(root, "proc-cgroup")
	writeTemp(t, cg, "0::/kube/pod1\n")
	writeTemp(t, filepath.Join(root, "fs", "kube", "pod1", "memory.max"), "1048576\n")
	if got := cgroupMemoryMax(cg, filepath.Join(root, "fs")); got != 1<<20 {
		t.Fatalf("own cgroup limit = %d", got)
	}
	writeTemp(t, filepath.Join(root, "fs", "kube", "pod1", "memory.max"), "max\n")
	if got := cgroupMemoryMax(cg, filepath.Join(root, "fs")); got != 0 {
		t.Fatalf("unlimited cgroup = %d, want 0", got)
	}
	// In a container the path is not visible: the root's limit applies.
	writeTemp(t, filepath.Join(root, "ct", "memory.max"), "2048\n")
	if got := cgroupMemoryMax(cg, filepath.Join(root, "ct")); got != 2048 {
		t.Fatalf("container limit = %d", got)
	}
	if got := cgroupMemoryMax(filepath.Join(root, "none"), filepath.Join(root, "nothing")); got != 0 {
		t.Fatalf("no cgroup = %d", got)
	}
}

func TestMemoryPressure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		m      memSample
		limit  uint64
		reason string
	}{
		{"no limits", memSample{Heap: 1 << 30, RSS: 1 << 31}, 0, ""},
		{"heap over limit", memSample{Heap: 101}, 100, "heap_over_limit"},
		{"heap at limit", memSample{Heap: 100}, 100, ""},
		{"rss within 10% of cgroup", memSample{RSS: 90, CgroupMax: 100}, 0, "near_cgroup_limit"},
		{"rss below 90% of cgroup", memSample{RSS: 89, CgroupMax: 100}, 0, ""},
		{"rss unknown", memSample{CgroupMax: 100}, 0, ""},
	}
	for _, tt := range tests {
		reason, critical := memoryPressure(tt.m, tt.limit)
		if reason != tt.reason || critical != (tt.reason != "") {
			t.Errorf("%s: memoryPressure = %q %v, want %q", tt.name, reason, critical, tt.reason)
		}
	}
}

func TestReadMemoryReadsTheHeap(t *testing.T) {
	t.Parallel()
	if m := readMemory(defaultMemPaths); m.Heap == 0 {
		t.Fatalf("heap = 0: %+v", m)
	}
}
