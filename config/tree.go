package config

import (
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// nodeKind is the shape of a node of the simplified YAML tree.
type nodeKind int

const (
	nullNode nodeKind = iota
	scalarNode
	mapNode
	seqNode
)

func (k nodeKind) String() string {
	switch k {
	case scalarNode:
		return "a single value"
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	}
	return "empty"
}

// node is one node of the simplified YAML tree the decoder walks: goccy's
// AST with anchors, aliases, merge keys and tags already resolved, and every
// scalar kept as the text written (so a snowflake ID or a "50%" survives as
// it stands; decoding to int, bool or duration happens per key).
type node struct {
	kind    nodeKind
	line    int
	text    string  // scalarNode: the value, unquoted, not yet ${}-expanded
	entries []entry // mapNode, in file order
	items   []*node // seqNode
}

// entry is one key: value pair of a mapping.
type entry struct {
	key  string
	line int // the key's line
	val  *node
}

// syntaxProblem is a YAML error that stops the parse, with its line.
type syntaxProblem struct {
	line int
	msg  string
}

// buildTree parses data into a simplified tree. A nil tree with a nil error
// means an empty document.
func buildTree(data []byte) (*node, *syntaxProblem) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			line := 0
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				line = tk.Position.Line
			}
			return nil, &syntaxProblem{line: line, msg: ye.GetMessage()}
		}
		return nil, &syntaxProblem{line: 0, msg: err.Error()}
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, nil
	}
	if len(docs) > 1 {
		return nil, &syntaxProblem{line: lineOf(docs[1].Body), msg: "more than one YAML document"}
	}
	b := &builder{anchors: map[string]*node{}}
	n := b.build(docs[0].Body, 0)
	if b.err != nil {
		return nil, b.err
	}
	return n, nil
}

type builder struct {
	anchors map[string]*node
	err     *syntaxProblem
}

func (b *builder) fail(n ast.Node, format string, args ...any) *node {
	if b.err == nil {
		b.err = &syntaxProblem{line: lineOf(n), msg: fmt.Sprintf(format, args...)}
	}
	return &node{kind: nullNode, line: lineOf(n)}
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

// maxDepth bounds nesting (and so alias expansion), which no real config
// comes near.
const maxDepth = 64

func (b *builder) build(n ast.Node, depth int) *node {
	if depth > maxDepth {
		return b.fail(n, "nested too deeply")
	}
	switch v := n.(type) {
	case nil:
		return &node{kind: nullNode}
	case *ast.NullNode:
		return &node{kind: nullNode, line: lineOf(v)}
	case *ast.StringNode:
		return &node{kind: scalarNode, line: lineOf(v), text: v.Value}
	case *ast.LiteralNode:
		return &node{kind: scalarNode, line: lineOf(v), text: v.Value.Value}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: scalarNode, line: lineOf(v), text: v.GetToken().Value}
	case *ast.TagNode:
		// Tags (!!str 7) change nothing here: every scalar is text until
		// a key decodes it.
		return b.build(v.Value, depth+1)
	case *ast.AnchorNode:
		out := b.build(v.Value, depth+1)
		if v.Name != nil {
			b.anchors[v.Name.GetToken().Value] = out
		}
		return out
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		out, ok := b.anchors[name]
		if !ok {
			return b.fail(v, "unknown alias %q", name)
		}
		return out
	case *ast.SequenceNode:
		out := &node{kind: seqNode, line: lineOf(v)}
		for _, item := range v.Values {
			out.items = append(out.items, b.build(item, depth+1))
		}
		return out
	case *ast.MappingNode:
		return b.mapping(v, v.Values, depth)
	case *ast.MappingValueNode:
		return b.mapping(v, []*ast.MappingValueNode{v}, depth)
	}
	return b.fail(n, "unsupported YAML node %s", n.Type())
}

func (b *builder) mapping(n ast.Node, values []*ast.MappingValueNode, depth int) *node {
	out := &node{kind: mapNode, line: lineOf(n)}
	var merged []entry
	for _, mv := range values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			// `<<: *base` (or a list of them): the base's keys, unless
			// this mapping sets them itself.
			src := b.build(mv.Value, depth+1)
			srcs := []*node{src}
			if src.kind == seqNode {
				srcs = src.items
			}
			for _, s := range srcs {
				if s.kind != mapNode {
					return b.fail(mv, "merge key << needs a mapping")
				}
				merged = append(merged, s.entries...)
			}
			continue
		}
		key, ok := keyText(mv.Key)
		if !ok {
			return b.fail(mv, "a key must be a single value")
		}
		out.entries = append(out.entries, entry{key: key, line: lineOf(mv.Key), val: b.build(mv.Value, depth+1)})
	}
	for _, m := range merged {
		if !out.has(m.key) {
			out.entries = append(out.entries, m)
		}
	}
	if len(out.entries) > 0 {
		out.line = out.entries[0].line
	}
	return out
}

func keyText(k ast.MapKeyNode) (string, bool) {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.TagNode:
		if s, ok := v.Value.(ast.MapKeyNode); ok {
			return keyText(s)
		}
		return "", false
	case ast.ScalarNode:
		if v.GetToken() == nil {
			return "", false
		}
		return v.GetToken().Value, true
	}
	return "", false
}

func (n *node) has(key string) bool {
	for _, e := range n.entries {
		if e.key == key {
			return true
		}
	}
	return false
}
