package console

import (
	"net/http/httptest"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true,
		"127.0.0.2": true, "0.0.0.0:8080": false, ":8080": false, "[::]:80": false, "10.0.0.1:80": false,
		"example.com:80": false, "": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestResolveToken(t *testing.T) {
	t.Parallel()
	if tok, gen, err := ResolveToken("0.0.0.0:80", "mine"); tok != "mine" || gen || err != nil {
		t.Errorf("configured: %q %v %v", tok, gen, err)
	}
	if tok, gen, err := ResolveToken("127.0.0.1:80", ""); tok != "" || gen || err != nil {
		t.Errorf("loopback: %q %v %v", tok, gen, err)
	}
	a, gen, err := ResolveToken(":8080", "")
	b, _, _ := ResolveToken(":8080", "")
	if len(a) != 48 || !gen || err != nil || a == b {
		t.Errorf("generated: %q, %q %v %v: want two different 48-hex tokens", a, b, gen, err)
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, token, host string
		hdr               map[string]string
		ok                bool
	}{
		{"bearer", "s3", "x:1", map[string]string{"Authorization": "Bearer s3"}, true},
		{"header", "s3", "x:1", map[string]string{TokenHeader: "s3"}, true},
		{"wrong", "s3", "127.0.0.1:1", map[string]string{TokenHeader: "s4"}, false},
		{"missing", "s3", "127.0.0.1:1", nil, false},
		{"no token, loopback", "", "127.0.0.1:8080", nil, true},
		{"no token, same origin", "", "localhost:8080", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"no token, cross-site", "", "localhost:8080", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"no token, rebinding", "", "evil.example:8080", nil, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/api/dlq/purge", nil)
		r.Host = c.host
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		if why := authorize(r, c.token); (why == "") != c.ok {
			t.Errorf("%s: authorize = %q, want ok %v", c.name, why, c.ok)
		}
	}
}
