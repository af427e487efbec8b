package middleware

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
)

// MaxQueryBytes is the longest query string payflow reads (4 KiB): its lists take
// three short parameters, and a longer query is a probe or a mistake. The request
// line and headers together are bounded by the server's MaxHeaderBytes.
const MaxQueryBytes = 4 << 10

// LimitQuery refuses a query string over max bytes with 414 uri_too_long, before
// anything parses it.
func LimitQuery(max int) gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.URL.RawQuery) > max {
			problem.Write(c, problem.New(http.StatusRequestURITooLong, problem.CodeURITooLong, "the query string is over 4 KiB"))
			return
		}
		c.Next()
	}
}

// RequireJSON refuses a non-empty body that is not application/json (415
// unsupported_media_type), after ReadBody: the API reads bodies as JSON only, and a
// body declared as something else would be read differently by a proxy or a WAF
// in front of it.
func RequireJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(Body(c)) == 0 {
			c.Next()
			return
		}
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || mt != "application/json" {
			problem.Write(c, problem.New(http.StatusUnsupportedMediaType, problem.CodeUnsupportedMediaType, "the body must be JSON, sent as Content-Type: application/json"))
			return
		}
		c.Next()
	}
}

// LiteralRoute refuses with 400 invalid_request a request whose path reaches its
// route only once decoded: a fixed segment of the route sent with encoded characters
// (/v1/%6fps/...) or an encoded slash. Routing decodes the path, so that without it
// /v1/%6fps/merchants would be served as /v1/ops/merchants, past a proxy that
// routes or filters on the path as sent.
func LiteralRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" || c.Request.URL.RawPath == "" {
			c.Next()
			return
		}
		sent := strings.Split(c.Request.URL.EscapedPath(), "/")
		want := strings.Split(route, "/")
		literal := len(sent) == len(want) || (strings.Contains(route, "/*") && len(sent) >= len(want))
		for i := 0; literal && i < len(want); i++ {
			if strings.HasPrefix(want[i], "*") {
				break
			}
			if !strings.HasPrefix(want[i], ":") && sent[i] != want[i] {
				literal = false
			}
		}
		if !literal {
			problem.Write(c, problem.Invalid("the path must name its route as written: no encoded characters in its fixed segments, no encoded slash"))
			return
		}
		c.Next()
	}
}
