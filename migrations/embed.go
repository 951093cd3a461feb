// Package migrations holds the numbered SQL migrations of every orderflow
// database, embedded so the one binary can apply them (`orderflow migrate`).
//
// The same set runs against every configured database: by default the three
// bounded contexts share one database with a schema each; pointed at
// separate databases, each database simply carries unused sibling schemas.
package migrations

import "embed"

// FS is the embedded migration set, in goose's "NNNNN_name.sql" layout.
//
//go:embed *.sql
var FS embed.FS
