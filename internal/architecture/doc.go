// Package architecture holds no code: its test reads the import graph with
// `go list` and fails when a package imports across the layers the wrong
// way (see ARCHITECTURE.md), so the layout stays what the folders say.
package architecture
