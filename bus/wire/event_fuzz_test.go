package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/regen-dev/regen/bus/wire"
)

// FuzzDecodeMatchesEncodingJSON holds DecodeChangeEvent (segmentio, zero-copy) to
// encoding/json: every payload either is refused by both, or decodes to
// the same event under both.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, seed := range decodeSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := wire.DecodeChangeEvent(data, 1<<16)
		want, wantErr := decodeStd(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("segmentio err = %v, encoding/json err = %v, payload %q", err, wantErr, data)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded differently:\nsegmentio     %#v\nencoding/json %#v\npayload %q", got, want, data)
		}
		if err == nil {
			checkPropertiesMap(t, got.Properties)
		}
	})
}

// checkPropertiesMap holds Properties.Map (segmentio) to encoding/json on
// the same object.
func checkPropertiesMap(t *testing.T, p wire.Properties) {
	t.Helper()
	got, err := p.Map()
	raw, _ := p.MarshalJSON()
	var want map[string]any
	wantErr := json.Unmarshal(raw, &want)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("properties: segmentio err = %v, encoding/json err = %v, object %q", err, wantErr, raw)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("properties decoded differently:\nsegmentio     %#v\nencoding/json %#v", got, want)
	}
	if err != nil && !errors.Is(err, wire.ErrInvalidEvent) {
		t.Fatalf("properties error does not match ErrInvalidEvent: %v", err)
	}
}

// decodeStd is DecodeChangeEvent as it was with encoding/json, refusing
// what encoding/json decodes to a U+FFFD the payload does not spell.
func decodeStd(data []byte) (wire.ChangeEvent, error) {
	var ev wire.ChangeEvent
	if len(data) > 1<<16 {
		return ev, wire.ErrInvalidEvent
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, err
	}
	if replacesText(data) {
		return ev, wire.ErrInvalidEvent
	}
	return ev, ev.Validate()
}

// spelledFFFD is a \u escape of U+FFFD.
var spelledFFFD = regexp.MustCompile(`\\u[fF][fF][fF][dD]`)

// replacesText reports whether encoding/json decodes a string of the
// well-formed data (a key or a value, at any depth, duplicates included)
// to a U+FFFD that data does not spell: it replaces invalid UTF-8 and
// lone surrogate escapes with U+FFFD, where DecodeChangeEvent refuses
// them. A spelled U+FFFD (raw or escaped) becomes U+FFFE first, so that
// only replacements are left.
func replacesText(data []byte) bool {
	data = bytes.ReplaceAll(data, []byte("\uFFFD"), []byte("\uFFFE"))
	data = spelledFFFD.ReplaceAll(data, []byte(`\ufffe`))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // no number is refused before every string is seen
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // io.EOF: data was decoded by json.Unmarshal
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, utf8.RuneError) {
			return true
		}
	}
}

// decodeSeeds are edge cases of the wire schema and a sample of the real
// vocabularies of examples/events.
func decodeSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:x","properties":{"k":[1,2.5e3,-0,true,null,{"x":"\u00e9\ud83d\ude00"}]}}`),
		[]byte(`{"id":"a","change_type":"edge_added","subject":"s","predicate":"p","object":"o","metadata":{"m":"v"}}`),
		[]byte(`{"ID":"a","Change_Type":"node_added","SUBJECT":"urn:x","timestamp":"2026-01-01T00:00:00.5+02:00"}`),
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:x","id":"b","unknown":{"deep":[[]]}}`),
		[]byte(`{"id":"a\u0000","change_type":"node_added","subject":"x\xff"}`),
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:x","properties":{"n":1e400}}`),
		[]byte(` {"id":"a","change_type":"node_added","subject":"urn:x"} x`),
		[]byte(`{"id":null,"predicate":null,"metadata":null,"properties":null}`),
		// Invalid UTF-8 and lone surrogates are refused; spelled U+FFFD,
		// surrogate pairs and an escaped backslash before "u" are not.
		[]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"urn:x\xff\"}"),
		[]byte("{\"id\":\"a\",\"change_type\":\"edge_added\",\"subject\":\"s\",\"predicate\":\"p\xc3\",\"object\":\"o\"}"),
		[]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"s\",\"properties\":{\"k\xed\xa0\x80\":1}}"),
		[]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"s\",\"metadata\":{\"k\":\"v\xf4\x90\x80\x80\"}}"),
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:\ud800x","metadata":{"k\udc00":"v"}}`),
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:\ud83d\u0041","properties":{"k":"\ud83d"}}`),
		[]byte(`{"id":"a","change_type":"node_added","subject":"urn:\ud83d\ude00\\ud800\ufffd","source":"\uFFFD"}`),
		[]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"urn:\xef\xbf\xbd\",\"dup\":\"\xff\",\"dup\":\"x\"}"),
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "events", "*.jsonl"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no example events to seed from: %v", err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			if i%7 == 0 && len(line) > 0 { // a sample of every shape
				seeds = append(seeds, line)
			}
		}
	}
	return seeds
}
