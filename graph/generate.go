package graph

// gqlgen resolves the paths in gqlgen.yml from the working directory, so it
// runs from the module root. -mod=mod lets it record the checksums of its
// own build dependencies (x/tools, urfave/cli, go-yaml), which no package
// of orderflow imports and `go mod tidy` would otherwise drop.
//go:generate sh -c "cd .. && go run -mod=mod github.com/99designs/gqlgen generate"
