package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// MetadataKey is the reserved header key holding the string-to-string
// metadata; it cannot be used as a tensor name.
const MetadataKey = "__metadata__"

// MaxHeaderSize is the largest header length accepted when reading, the
// same limit as the reference implementation (100 MB).
const MaxHeaderSize = 100_000_000

// entry is one tensor as described by the header.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int64
	n          int // number of elements
}

// parseHeader parses and validates the JSON header. It checks the syntax,
// duplicate keys, dtypes, shapes and that each tensor's byte range has the
// size its shape and dtype imply; the layout of the ranges within the buffer
// is checked by checkLayout.
func parseHeader(h []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if err := expectDelim(dec, '{', "header"); err != nil {
		return nil, nil, err
	}
	var (
		entries  []entry
		metadata map[string]string
		seen     = map[string]bool{}
	)
	for dec.More() {
		name, err := key(dec, "header")
		if err != nil {
			return nil, nil, err
		}
		if seen[name] {
			if name == MetadataKey {
				return nil, nil, fmt.Errorf("duplicate %s in header", MetadataKey)
			}
			return nil, nil, fmt.Errorf("duplicate tensor name %q in header", name)
		}
		seen[name] = true
		if name == MetadataKey {
			if metadata, err = parseMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseEntry(dec, name)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}', "header"); err != nil {
		return nil, nil, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON after header object: %v", err)
		}
		return nil, nil, fmt.Errorf("unexpected %v after header object", tok)
	}
	return entries, metadata, nil
}

func jsonErr(what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid JSON in %s: %v", what, err)
}

func expectDelim(dec *json.Decoder, d json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(what, err)
	}
	if tok != d {
		return fmt.Errorf("invalid JSON in %s: expected %q, found %v", what, d, tokString(tok))
	}
	return nil
}

// key reads an object key. Inside an object the decoder only yields string
// keys or the closing delimiter, which dec.More has already ruled out.
func key(dec *json.Decoder, what string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", jsonErr(what, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("invalid JSON in %s: expected a key, found %v", what, tokString(tok))
	}
	return s, nil
}

func tokString(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return strconv.Quote(t.String())
	case string:
		return "string " + strconv.Quote(t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// parseMetadata parses the value of "__metadata__": an object of strings
// (or null).
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	const what = MetadataKey
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(what, err)
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%s must be an object of strings, found %v", what, tokString(tok))
	}
	m := map[string]string{}
	for dec.More() {
		k, err := key(dec, what)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate key %q in %s", k, what)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(what, err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%q] must be a string, found %v", what, k, tokString(tok))
		}
		m[k] = v
	}
	if err := expectDelim(dec, '}', what); err != nil {
		return nil, err
	}
	return m, nil
}

// parseEntry parses one tensor's {"dtype", "shape", "data_offsets"} object.
// Unknown and duplicate fields are rejected.
func parseEntry(dec *json.Decoder, name string) (entry, error) {
	what := fmt.Sprintf("tensor %q", name)
	e := entry{name: name}
	if err := expectDelim(dec, '{', what); err != nil {
		return e, err
	}
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		field, err := key(dec, what)
		if err != nil {
			return e, err
		}
		switch field {
		case "dtype":
			if haveDType {
				return e, fmt.Errorf("%s: duplicate field dtype", what)
			}
			haveDType = true
			tok, err := dec.Token()
			if err != nil {
				return e, jsonErr(what, err)
			}
			s, ok := tok.(string)
			if !ok {
				return e, fmt.Errorf("%s: dtype must be a string, found %v", what, tokString(tok))
			}
			e.dtype = DType(s)
		case "shape":
			if haveShape {
				return e, fmt.Errorf("%s: duplicate field shape", what)
			}
			haveShape = true
			dims, err := intArray(dec, what, "shape")
			if err != nil {
				return e, err
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return e, fmt.Errorf("%s: shape %v is too large", what, dims)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return e, fmt.Errorf("%s: duplicate field data_offsets", what)
			}
			haveOffsets = true
			off, err := intArray(dec, what, "data_offsets")
			if err != nil {
				return e, err
			}
			if len(off) != 2 {
				return e, fmt.Errorf("%s: data_offsets must be [begin, end], found %d numbers", what, len(off))
			}
			e.begin, e.end = off[0], off[1]
		default:
			return e, fmt.Errorf("%s: unknown field %q", what, field)
		}
	}
	if err := expectDelim(dec, '}', what); err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, fmt.Errorf("%s: missing field dtype", what)
	case !haveShape:
		return e, fmt.Errorf("%s: missing field shape", what)
	case !haveOffsets:
		return e, fmt.Errorf("%s: missing field data_offsets", what)
	}
	if err := checkDType(e.dtype); err != nil {
		return e, fmt.Errorf("%s: %v", what, err)
	}
	if e.end < e.begin {
		return e, fmt.Errorf("%s: data_offsets [%d, %d] end before they begin", what, e.begin, e.end)
	}
	n, err := numElements(e.shape)
	if err != nil {
		return e, fmt.Errorf("%s: %v", what, err)
	}
	e.n = n
	if want := int64(n) * int64(e.dtype.Size()); e.end-e.begin != want {
		return e, fmt.Errorf("%s: shape %v of %s needs %d bytes, but data_offsets [%d, %d] span %d",
			what, e.shape, e.dtype, want, e.begin, e.end, e.end-e.begin)
	}
	return e, nil
}

// intArray reads a JSON array of non-negative integers.
func intArray(dec *json.Decoder, what, field string) ([]int64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(what, err)
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("%s: %s must be an array of integers, found %v", what, field, tokString(tok))
	}
	var out []int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(what, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: %s must contain integers, found %v", what, field, tokString(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: %s must contain non-negative integers, found %s", what, field, num)
		}
		out = append(out, v)
	}
	if err := expectDelim(dec, ']', what); err != nil {
		return nil, err
	}
	return out, nil
}

// appendHeader appends the compact JSON header describing entries (in
// order) and metadata (sorted by key) to b.
func appendHeader(b []byte, entries []entry, metadata map[string]string) []byte {
	b = append(b, '{')
	if len(metadata) > 0 {
		b = appendString(b, MetadataKey)
		b = append(b, ":{"...)
		for i, k := range sortedKeys(metadata) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	for i, e := range entries {
		if i > 0 || len(metadata) > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, string(e.dtype))
		b = append(b, `,"shape":[`...)
		for j, d := range e.shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, e.begin, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, e.end, 10)
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string without HTML escaping. s must be
// valid UTF-8.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // cannot fail for a string
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
