package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// TokenHeader is the header that may carry the console token instead of
// "Authorization: Bearer TOKEN".
const TokenHeader = "X-Regen-Token"

// ResolveToken returns the token a console bound to addr requires:
// configured when set; otherwise none for a loopback address, and a fresh
// random one (generated true) for any other, to be shown to the operator
// once.
func ResolveToken(addr, configured string) (token string, generated bool, err error) {
	if configured != "" || IsLoopback(addr) {
		return configured, false, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("console token: %w", err)
	}
	return hex.EncodeToString(b), true, nil
}

// IsLoopback reports whether addr (host:port, or a host) names only the
// loopback interface: localhost or a loopback IP. An empty or unspecified
// host (":8080", "0.0.0.0:8080") is every interface, not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requestToken is the token r carries, "" when none.
func requestToken(r *http.Request) string {
	if v := r.Header.Get(TokenHeader); v != "" {
		return v
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// authorize says why r may not mutate anything ("" when it may). With a
// token, r must carry it (compared in constant time). Without one, r must
// come to a loopback Host (no DNS rebinding) from no other site.
func authorize(r *http.Request, token string) string {
	if token != "" {
		if subtle.ConstantTimeCompare([]byte(requestToken(r)), []byte(token)) != 1 {
			return "console token required: send it as Authorization: Bearer TOKEN or " + TokenHeader
		}
		return ""
	}
	if !IsLoopback(r.Host) {
		return "this console has no token: mutating requests are accepted only on a loopback address"
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request refused"
	}
	return ""
}
