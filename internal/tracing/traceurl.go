package tracing

import (
	"fmt"
	"net/url"
	"strings"
)

// TraceIDPlaceholder is replaced by a trace id in a trace URL template
// (the console's console_trace_url), e.g. Jaeger's
//
//	http://localhost:16686/trace/{trace_id}
const TraceIDPlaceholder = "{trace_id}"

// CheckTraceURL reports whether tmpl is a trace URL template: an absolute
// http or https URL holding TraceIDPlaceholder. The empty template (no
// links) is valid.
func CheckTraceURL(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	if !strings.Contains(tmpl, TraceIDPlaceholder) {
		return fmt.Errorf("trace URL %q: has no %s", tmpl, TraceIDPlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, TraceIDPlaceholder, "0"))
	if err != nil {
		return fmt.Errorf("trace URL %q: %w", tmpl, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("trace URL %q: want an absolute http:// or https:// URL", tmpl)
	}
	return nil
}

// TraceURL is tmpl with traceID in place of TraceIDPlaceholder; "" when
// either is empty.
func TraceURL(tmpl, traceID string) string {
	if tmpl == "" || traceID == "" {
		return ""
	}
	return strings.ReplaceAll(tmpl, TraceIDPlaceholder, url.PathEscape(traceID))
}
