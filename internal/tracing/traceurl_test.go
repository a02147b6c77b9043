package tracing

import (
	"strings"
	"testing"
)

func TestCheckTraceURL(t *testing.T) {
	t.Parallel()
	for tmpl, bad := range map[string]string{
		"": "",
		"http://localhost:16686/trace/{trace_id}":            "",
		"https://tempo.example/explore?trace={trace_id}&x=1": "",
		"http://localhost:16686/trace/":                      "has no {trace_id}",
		"/trace/{trace_id}":                                  "absolute",
		"ftp://host/{trace_id}":                              "absolute",
		"http://%zz/{trace_id}":                              "invalid URL escape",
	} {
		err := CheckTraceURL(tmpl)
		if bad == "" && err != nil || bad != "" && (err == nil || !strings.Contains(err.Error(), bad)) {
			t.Errorf("CheckTraceURL(%q) = %v, want %q", tmpl, err, bad)
		}
	}
}

func TestTraceURL(t *testing.T) {
	t.Parallel()
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	if got := TraceURL("http://j:16686/trace/{trace_id}", id); got != "http://j:16686/trace/"+id {
		t.Errorf("TraceURL = %q", got)
	}
	if TraceURL("", id) != "" || TraceURL("http://j/{trace_id}", "") != "" {
		t.Error("TraceURL without a template or an id is not empty")
	}
}
