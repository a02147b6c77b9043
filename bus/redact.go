package bus

import (
	"errors"
	"net/url"
	"strings"
)

// Redacted replaces the secret part of a URL's userinfo.
const Redacted = "REDACTED"

// RedactURLs hides the credentials embedded in a comma-separated list of
// URLs (nats://user:pass@host, nats://token@host, http://user:pass@host)
// before they reach a log line, an error or printed configuration: a
// password becomes REDACTED and the user name stays; a userinfo without a
// password (a token) becomes REDACTED. It works on the text, so a URL that
// does not parse is redacted too. Everything else is left as it was.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if start, end, ok := userinfo(p); ok {
			parts[i] = p[:start] + redactUserinfo(p[start:end]) + p[end:]
		}
	}
	return strings.Join(parts, ",")
}

// userinfo finds the userinfo of one URL: p[start:end] is the text before
// the last "@" of the authority (after "scheme://", or from the start
// when there is no scheme, as nats.go allows).
func userinfo(p string) (start, end int, ok bool) {
	if i := strings.Index(p, "://"); i >= 0 {
		start = i + len("://")
	} else {
		start = len(p) - len(strings.TrimLeft(p, " \t"))
	}
	authority := p[start:]
	if j := strings.IndexAny(authority, "/?#"); j >= 0 {
		authority = authority[:j]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return 0, 0, false
	}
	return start, start + at, true
}

func redactUserinfo(ui string) string {
	if user, _, ok := strings.Cut(ui, ":"); ok {
		return user + ":" + Redacted
	}
	return Redacted
}

// secrets returns the texts of urls that must not appear in a message, each
// with its replacement: each URL's raw userinfo, and its password (raw and
// unescaped) when it is long enough not to match ordinary words.
func secrets(urls string) []string {
	var out []string
	for p := range strings.SplitSeq(urls, ",") {
		start, end, ok := userinfo(p)
		if !ok {
			continue
		}
		ui := p[start:end]
		out = append(out, ui, redactUserinfo(ui))
		_, pass, hasPass := strings.Cut(ui, ":")
		if !hasPass {
			pass = ui // a token
		}
		if len(pass) >= 4 {
			out = append(out, pass, Redacted)
			if u, err := url.PathUnescape(pass); err == nil && u != pass {
				out = append(out, u, Redacted)
			}
		}
	}
	return out
}

// redactErr returns err with every secret of urls removed from its message;
// errors.Is and errors.As still see err. A URL parse error quoting a piece
// of the userinfo (`invalid URL escape "%xy"`) loses that piece too.
func redactErr(err error, urls string) error {
	if err == nil {
		return nil
	}
	pairs := secrets(urls)
	if len(pairs) == 0 {
		return err
	}
	msg := strings.NewReplacer(pairs...).Replace(err.Error())
	var esc url.EscapeError
	if errors.As(err, &esc) {
		msg = strings.ReplaceAll(msg, `"`+string(esc)+`"`, Redacted)
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message had credentials removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
