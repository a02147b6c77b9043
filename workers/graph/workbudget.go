package graph

import (
	"errors"
	"fmt"
	"reflect"
	"text/template"
	"text/template/parse"
)

// MaxRangeIterations bounds the iterations of all `range` actions of one
// template execution together, nesting included: a template over an
// event's own data (a property list of ten thousand items, ranged inside
// another range) fails fast instead of running for hours.
const MaxRangeIterations = 1_000_000

// ErrTooMuchWork is the failure of an execution whose ranges would run
// more than MaxRangeIterations iterations. It is the data's fault on this
// template: permanent.
var ErrTooMuchWork = errors.New("template work over budget")

// WorkBudget is what is left of one execution's range iterations. The
// engine gives each execution its own (RenderData.Budget); a nil budget
// is unlimited.
type WorkBudget struct{ left int64 }

func newWorkBudget() *WorkBudget { return &WorkBudget{left: MaxRangeIterations} }

// rangeGuard is the function the engine adds to the end of every range
// pipeline: it charges the budget with the number of iterations v will
// run, and passes v on unchanged.
const rangeGuard = "regenRangeGuard"

func chargeRange(d RenderData, v any) (any, error) {
	if d.Budget == nil {
		return v, nil
	}
	if d.Budget.left -= iterations(v); d.Budget.left < 0 {
		return nil, fmt.Errorf("%w: its ranges would run more than %d iterations", ErrTooMuchWork, MaxRangeIterations)
	}
	return v, nil
}

// iterations is how many times a range over v runs.
func iterations(v any) int64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Chan, reflect.String:
		return int64(rv.Len())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return max(rv.Int(), 0)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(min(rv.Uint(), uint64(MaxRangeIterations)+1))
	}
	return 0
}

// guardRanges appends `| regenRangeGuard $` to the pipeline of every range
// action of t and of the templates it defines.
func guardRanges(t *template.Template) *template.Template {
	t.Funcs(template.FuncMap{rangeGuard: chargeRange})
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			guardList(tt.Tree, tt.Tree.Root)
		}
	}
	return t
}

func guardList(tree *parse.Tree, l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		guardNode(tree, n)
	}
}

func guardNode(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.RangeNode:
		n.Pipe.Cmds = append(n.Pipe.Cmds, guardCommand(tree, n.Pipe.Position()))
		guardList(tree, n.List)
		guardList(tree, n.ElseList)
	case *parse.IfNode:
		guardList(tree, n.List)
		guardList(tree, n.ElseList)
	case *parse.WithNode:
		guardList(tree, n.List)
		guardList(tree, n.ElseList)
	case *parse.ListNode:
		guardList(tree, n)
	}
}

func guardCommand(tree *parse.Tree, pos parse.Pos) *parse.CommandNode {
	root := &parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}}
	fn := parse.NewIdentifier(rangeGuard).SetTree(tree).SetPos(pos)
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{fn, root}}
}
