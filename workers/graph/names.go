package graph

import (
	"fmt"
	"slices"
)

// UniqueNames gives each subject of subjects an exported Go identifier
// unique among them, from the subjects alone, so the same list always
// gets the same names whatever order the model was built in: the GoName
// of the local name ("Node" when it has none); subjects that would share
// a name are sorted and the second and later get "2", "3", ... (skipping
// names already taken).
func UniqueNames(subjects any) (map[string]string, error) {
	list, err := listOf("uniqueNames", subjects)
	if err != nil {
		return nil, err
	}
	list = slices.Clone(list)
	slices.Sort(list)
	list = slices.Compact(list)
	base := map[string]string{}
	count := map[string]int{}
	for _, s := range list {
		b := GoName(LocalName(s))
		if b == "" {
			b = "Node"
		}
		base[s] = b
		count[b]++
	}
	out := make(map[string]string, len(list))
	taken := map[string]bool{}
	for _, s := range list {
		if count[base[s]] == 1 {
			out[s] = base[s]
			taken[base[s]] = true
		}
	}
	for _, s := range list {
		if count[base[s]] == 1 {
			continue
		}
		name := base[s]
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s%d", base[s], i)
		}
		out[s] = name
		taken[name] = true
	}
	return out, nil
}
