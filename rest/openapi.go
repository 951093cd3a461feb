package rest

import (
	_ "embed"
	"net/http"
)

// OpenAPIDocument is the OpenAPI 3.1 description of this API, served at
// /api/v1/openapi.json. It is kept by hand next to the code it describes;
// the package's tests validate every answer they get against it.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// serveOpenAPI answers the OpenAPI document; it needs no token.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPIDocument)
}
