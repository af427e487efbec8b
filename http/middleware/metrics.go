package middleware

import (
	"time"

	"github.com/gin-gonic/gin"
)

// RequestObserver records one served request (payflow's metrics).
type RequestObserver interface {
	// ObserveRequest records a request by method, route pattern, status and latency.
	ObserveRequest(method, route string, status int, d time.Duration)
}

// Metrics observes every request by its route pattern (/v1/payments/:id), never
// the raw path, whose ids would make a series per object.
func Metrics(o RequestObserver) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		o.ObserveRequest(c.Request.Method, route, c.Writer.Status(), time.Since(start))
	}
}
