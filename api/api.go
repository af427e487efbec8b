// Package api holds payflow's API contract: the OpenAPI 3.1 description of the
// merchant and ops APIs, embedded so that the API serves it (GET /openapi.yaml) and the
// tests validate every exchange against the very bytes the API serves.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
