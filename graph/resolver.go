// Package graph is the GraphQL port: thin resolvers that turn arguments into
// application calls and results into API models. No SQL, no search queries.
package graph

// Resolver is the root of every resolver; it holds the application seam.
type Resolver struct{}
