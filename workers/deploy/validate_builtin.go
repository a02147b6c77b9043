package deploy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/regen-dev/regen/bus/wire"
)

// builtins are the validators that need no configuration, by name.
var builtins = map[string]check{
	"go":    checkGo,
	"gofmt": checkGo,
	"json":  checkJSON,
	"yaml":  checkYAML,
}

// checkGo refuses content go/format cannot parse (its errors start with
// line:column).
func checkGo(_ context.Context, a wire.Artifact) error {
	_, err := format.Source(a.Content)
	return err
}

// checkJSON refuses content that is not one JSON value, naming the line,
// column and offset of the first error.
func checkJSON(_ context.Context, a wire.Artifact) error {
	if json.Valid(a.Content) {
		return nil
	}
	var raw json.RawMessage
	err := json.Unmarshal(a.Content, &raw)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return cmp.Or(err, errors.New("invalid JSON"))
	}
	line, col := position(a.Content, se.Offset)
	return fmt.Errorf("line %d, column %d (offset %d): %w", line, col, se.Offset, err)
}

// position is the 1-based line and column of byte offset off of content.
func position(content []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(content)))
	before := content[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// checkYAML refuses content of which a document does not decode (its
// errors name the line).
func checkYAML(_ context.Context, a wire.Artifact) error {
	dec := yaml.NewDecoder(bytes.NewReader(a.Content))
	for doc := 1; ; doc++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
	}
}
