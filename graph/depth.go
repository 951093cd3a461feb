package graph

import (
	"context"
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// DepthLimit is a gqlgen extension that refuses operations nested deeper
// than Max fields, before any resolver runs. The complexity limit bounds
// how much a query asks for; the depth limit bounds how deep it walks, the
// cheaper attack on recursive types.
//
// Fragments count where they are spread; inline fragments and spreads add
// no level themselves. Introspection fields (__schema, __type) are not
// counted: gqlparser's own MaxIntrospectionDepth rule bounds them, and the
// standard introspection query of tools like GraphiQL is deeper than any
// sensible limit for data.
type DepthLimit struct {
	Max int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = DepthLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (d DepthLimit) Validate(graphql.ExecutableSchema) error {
	if d.Max < 1 {
		return errors.New("DepthLimit.Max must be at least 1")
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (d DepthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := depthWalker{doc: opCtx.Doc, fragments: map[string]int{}, visiting: map[string]bool{}}
	if depth := w.selectionSet(opCtx.Operation.SelectionSet); depth > d.Max {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", depth, d.Max)
		gqlerrcode.Set(err, reasonDepthLimit)
		return err
	}
	return nil
}

// depthWalker measures selection depth. Each fragment's depth is computed
// once, so a document whose fragments spread each other many times cannot
// make the walk exponential.
type depthWalker struct {
	doc       *ast.QueryDocument
	fragments map[string]int
	visiting  map[string]bool
}

func (w *depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1 + w.selectionSet(s.SelectionSet)
		case *ast.InlineFragment:
			d = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w *depthWalker) fragment(s *ast.FragmentSpread) int {
	if d, ok := w.fragments[s.Name]; ok {
		return d
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	// Validation rejects fragment cycles before extensions run; the
	// visiting set only keeps a bug there from becoming a stack overflow.
	if def == nil || w.visiting[s.Name] {
		return 0
	}
	w.visiting[s.Name] = true
	d := w.selectionSet(def.SelectionSet)
	delete(w.visiting, s.Name)
	w.fragments[s.Name] = d
	return d
}
