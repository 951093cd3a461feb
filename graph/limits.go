package graph

import (
	"context"
	"errors"
	"math"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operationLimits is a gqlgen extension that refuses, before any resolver
// runs, an operation nested deeper than maxDepth fields or selecting more
// than maxComplexity fields in all. The complexity bounds how much one
// request asks for (aliases and fragments included: a field costs once
// per place it is selected); the depth bounds how far it walks, the cheap
// attack on recursive types. Introspection's __Type.ofType is the one
// recursive type of the schema.
//
// Every field counts, introspection fields (__schema, __type, __typename
// and all below them) included: gqlgen's own complexity extension skips
// __schema, and a depth limit that skipped introspection let
// `__type { ofType { ofType … } } }` walk as deep as the client liked.
// Both limits leave room for the introspection query GraphiQL sends
// (depth 15, complexity about 230 with graphql-js' default typeDepth of
// 9); gqlparser's MaxIntrospectionDepth rule also bounds its list fields.
//
// Fragments count where they are spread; inline fragments and spreads add
// no level themselves.
type operationLimits struct {
	maxDepth      int
	maxComplexity int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

// ExtensionName implements graphql.HandlerExtension.
func (operationLimits) ExtensionName() string { return "OperationLimits" }

// Validate implements graphql.HandlerExtension.
func (l operationLimits) Validate(graphql.ExecutableSchema) error {
	if l.maxDepth < 1 || l.maxComplexity < 1 {
		return errors.New("operation limits must be at least 1")
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (l operationLimits) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := selectionWalker{doc: opCtx.Doc, fragments: map[string]selectionSize{}, visiting: map[string]bool{}}
	size := w.selectionSet(opCtx.Operation.SelectionSet)
	if size.depth > l.maxDepth {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", size.depth, l.maxDepth)
		gqlerrcode.Set(err, reasonDepthLimit)
		return err
	}
	if size.complexity > l.maxComplexity {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", size.complexity, l.maxComplexity)
		gqlerrcode.Set(err, reasonComplexityLimit)
		return err
	}
	return nil
}

// selectionSize is how deep a selection set reaches and how many fields it
// selects.
type selectionSize struct {
	depth, complexity int
}

// selectionWalker measures selection sets. Each fragment is measured once,
// so a document whose fragments spread each other many times cannot make
// the walk exponential; its complexity still counts every spread.
type selectionWalker struct {
	doc       *ast.QueryDocument
	fragments map[string]selectionSize
	visiting  map[string]bool
}

func (w *selectionWalker) selectionSet(set ast.SelectionSet) selectionSize {
	var total selectionSize
	for _, sel := range set {
		var s selectionSize
		switch sel := sel.(type) {
		case *ast.Field:
			s = w.selectionSet(sel.SelectionSet)
			s.depth++
			s.complexity = saturatingAdd(s.complexity, 1)
		case *ast.InlineFragment:
			s = w.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = w.fragment(sel)
		}
		total.depth = max(total.depth, s.depth)
		total.complexity = saturatingAdd(total.complexity, s.complexity)
	}
	return total
}

func (w *selectionWalker) fragment(s *ast.FragmentSpread) selectionSize {
	if size, ok := w.fragments[s.Name]; ok {
		return size
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	// Validation rejects fragment cycles before extensions run; the
	// visiting set only keeps a bug there from becoming a stack overflow.
	if def == nil || w.visiting[s.Name] {
		return selectionSize{}
	}
	w.visiting[s.Name] = true
	size := w.selectionSet(def.SelectionSet)
	delete(w.visiting, s.Name)
	w.fragments[s.Name] = size
	return size
}

// saturatingAdd adds two non-negative counts without wrapping around: a
// document of fragments that each spread the previous one twice doubles
// its complexity per fragment.
func saturatingAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
