package bus

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURLs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                      "nats://127.0.0.1:4222",
		"nats://u:secret@host:4222":                  "nats://u:REDACTED@host:4222",
		"nats://s3cr3t-token@host:4222":              "nats://REDACTED@host:4222",
		"u:secret@host:4222":                         "u:REDACTED@host:4222",
		"nats://a:p1@n1:4222, nats://tok@n2:4222,n3": "nats://a:REDACTED@n1:4222, nats://REDACTED@n2:4222,n3",
		"nats://u:sec%zzret@host:4222":               "nats://u:REDACTED@host:4222", // does not parse
		"nats://u:p@ss@host:4222":                    "nats://u:REDACTED@host:4222",
		"http://u:pw@127.0.0.1:8080/readyz?x=a@b":    "http://u:REDACTED@127.0.0.1:8080/readyz?x=a@b",
		"": "",
	} {
		if got := RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactErrRemovesEverySecretAndKeepsTheChain(t *testing.T) {
	t.Parallel()
	const urls = "nats://admin:hunter22@n1:4222,nats://tok3n-xyz@n2:4222"
	inner := errors.New("dial nats://admin:hunter22@n1:4222 with tok3n-xyz failed")
	err := redactErr(fmt.Errorf("wrapped: %w", inner), urls)
	for _, secret := range []string{"hunter22", "tok3n-xyz"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q still holds %q", err, secret)
		}
	}
	if !errors.Is(err, inner) || !strings.Contains(err.Error(), "admin:REDACTED@n1") {
		t.Fatalf("err = %q: chain lost or user name dropped", err)
	}
	if plain := errors.New("no servers"); redactErr(plain, urls) != plain {
		t.Fatal("an error without secrets was rewrapped")
	}
}

func TestRedactErrHidesTheEscapeAURLParseErrorQuotes(t *testing.T) {
	t.Parallel()
	const raw = "nats://u:pa%zzword@host:4222"
	//lint:ignore SA1007 the URL is invalid on purpose: its parse error is what is tested
	_, perr := url.Parse(raw)
	if perr == nil {
		t.Fatal("the test URL parses")
	}
	got := redactErr(perr, raw).Error()
	if strings.Contains(got, "pa%zzword") || strings.Contains(got, "%zz") {
		t.Fatalf("redacted parse error %q still quotes the password", got)
	}
}
