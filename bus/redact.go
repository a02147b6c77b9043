package bus

import (
	"net/url"
	"strings"
)

// redactURLs hides passwords and tokens embedded in NATS URLs before they
// reach a log line or an error.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		u.User = url.User("redacted")
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
