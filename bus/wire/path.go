package wire

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrUnsafePath marks an artifact path that could escape the deploy root or
// confuse a file system. Every CleanPath error matches it.
var ErrUnsafePath = errors.New("unsafe path")

// Limits on artifact paths.
const (
	MaxPathLen = 1024
	// MaxElementLen leaves room, within a file system's 255-byte name
	// limit, for the suffixes a deployer adds to a name (a temporary
	// ".tmp-" and 16 hex digits).
	MaxElementLen = 255 - len(".tmp-0123456789abcdef")
)

// CleanPath checks that p is a safe relative slash path and returns it
// cleaned. It refuses empty and absolute paths, any ".." element, NUL and
// other control characters, backslashes, invalid UTF-8, paths longer than
// MaxPathLen, elements longer than MaxElementLen, and a cleaned path that
// starts with a drive letter ("C:").
func CleanPath(p string) (string, error) {
	if err := checkPathChars(p); err != nil {
		return "", fmt.Errorf("path %q: %w: %w", Abbrev(p, 80), ErrUnsafePath, err)
	}
	c := path.Clean(p)
	if c == "." || c == "/" {
		return "", fmt.Errorf("path %q: %w: names no file", Abbrev(p, 80), ErrUnsafePath)
	}
	if len(c) >= 2 && c[1] == ':' { // checked once cleaned: "./C:x" cleans to "C:x"
		return "", fmt.Errorf("path %q: %w: drive letter", Abbrev(p, 80), ErrUnsafePath)
	}
	for _, el := range strings.Split(c, "/") {
		if len(el) > MaxElementLen {
			return "", fmt.Errorf("path %q: %w: element longer than %d bytes", Abbrev(p, 80), ErrUnsafePath, MaxElementLen)
		}
	}
	return c, nil
}

func checkPathChars(p string) error {
	switch {
	case p == "":
		return errors.New("empty")
	case len(p) > MaxPathLen:
		return fmt.Errorf("longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return errors.New("invalid UTF-8")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute")
	case strings.ContainsRune(p, '\\'):
		return errors.New("backslash")
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return errors.New(`".." element`)
		}
	}
	return nil
}

// Abbrev shortens s for an error message: at most n bytes, cut at a rune
// boundary, with "..." when anything was cut.
func Abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
