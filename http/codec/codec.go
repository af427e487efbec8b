// Package codec serves the Temporal codec server protocol (POST /codec/encode and
// /codec/decode, with CORS for Temporal Web) over payflow's payload codec, so that
// an operator sees decrypted payloads in Temporal Web or the temporal CLI while
// Temporal itself stores none in clear.
//
// Who may use it:
//   - anyone presenting an ops token (Authorization: Bearer <token>): the temporal
//     CLI (--codec-endpoint .../codec --codec-auth "Bearer <token>"), or Temporal Web
//     behind a login proxy that adds the header for signed-in operators;
//   - when TrustLocalUI is set (payflow dev only), a request with no token that comes
//     from a loopback address, through no proxy, with the Origin of an allowed Web
//     UI: the dev server's Temporal Web has no login and can send no token, and a
//     browser always sends a page's true Origin, so another site open in the same
//     browser is still refused.
package codec

import (
	"net"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
)

// MaxBodyBytes bounds a codec request: Temporal's own payload limit is 2 MiB, and
// a batch of payloads in JSON (base64) is larger than the bytes it carries.
const MaxBodyBytes = 8 << 20

// OperatorLocalUI is the operator recorded for a request trusted as the local Web UI.
const OperatorLocalUI = "local-web-ui"

// Handler serves the codec endpoints.
type Handler struct {
	// Codec is the payload codec every payflow client uses.
	Codec converter.PayloadCodec
	// OpsTokens open the endpoint (Authorization: Bearer).
	OpsTokens []string
	// OpsGuard limits and audits failed ops-token attempts per client address (nil:
	// neither).
	OpsGuard *middleware.OpsGuard
	// AllowedOrigins are the Web UI origins answered with CORS headers.
	AllowedOrigins []string
	// TrustLocalUI accepts a token-less request from a loopback address with an
	// allowed Origin (see the package comment). Off in production.
	TrustLocalUI bool
	Log          *logrus.Entry
}

// Register mounts POST and OPTIONS (the CORS preflight) of /encode and /decode on g
// (the /codec group).
func (h *Handler) Register(g *gin.RouterGroup) {
	auth := h.authenticate()
	g.OPTIONS("/encode", h.preflight)
	g.OPTIONS("/decode", h.preflight)
	g.POST("/encode", h.cors, auth, func(c *gin.Context) { h.serve(c, "encode", h.Codec.Encode) })
	g.POST("/decode", h.cors, auth, func(c *gin.Context) { h.serve(c, "decode", h.Codec.Decode) })
}

func (h *Handler) originAllowed(origin string) bool {
	return origin != "" && slices.Contains(h.AllowedOrigins, origin)
}

// corsHeaders allows the Web UI's origin to read the answer, with the credentials
// (cookies of a login proxy) that Temporal Web's codec.includeCredentials sends.
func (h *Handler) corsHeaders(c *gin.Context) bool {
	origin := c.GetHeader("Origin")
	c.Writer.Header().Add("Vary", "Origin")
	if !h.originAllowed(origin) {
		return false
	}
	c.Header("Access-Control-Allow-Origin", origin)
	c.Header("Access-Control-Allow-Credentials", "true")
	return true
}

func (h *Handler) cors(c *gin.Context) {
	h.corsHeaders(c)
	c.Next()
}

// preflight answers the browser's OPTIONS before a POST with a JSON body and the
// X-Namespace (and, with a login proxy, Authorization) header Temporal Web sends.
func (h *Handler) preflight(c *gin.Context) {
	if !h.corsHeaders(c) {
		problem.Write(c, problem.New(http.StatusForbidden, problem.CodeUnauthorized, "this origin may not use the codec endpoint"))
		return
	}
	c.Header("Access-Control-Allow-Methods", "POST, OPTIONS")
	c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
	c.Header("Access-Control-Max-Age", "600")
	if c.GetHeader("Access-Control-Request-Private-Network") == "true" {
		// Chrome's Private Network Access: a Web UI served from a public address
		// asking a codec endpoint on a private one.
		c.Header("Access-Control-Allow-Private-Network", "true")
	}
	c.Status(http.StatusNoContent)
}

// authenticate accepts an ops token, or the local Web UI when trusted.
func (h *Handler) authenticate() gin.HandlerFunc {
	opsAuth := middleware.OpsAuth(h.OpsTokens, h.OpsGuard, h.Log)
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" && h.trustedLocalUI(c.Request) {
			c.Set(middleware.KeyOperator, OperatorLocalUI)
			c.Next()
			return
		}
		opsAuth(c)
	}
}

// trustedLocalUI: trust is on, the Origin is an allowed Web UI's, the peer is a
// loopback address, and no proxy forwarded the request (a proxy on the same host
// would make every client look local).
func (h *Handler) trustedLocalUI(r *http.Request) bool {
	if !h.TrustLocalUI || !h.originAllowed(r.Header.Get("Origin")) {
		return false
	}
	for _, hdr := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(hdr) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (h *Handler) serve(c *gin.Context, op string, fn func([]*commonpb.Payload) ([]*commonpb.Payload, error)) {
	log := h.Log.WithFields(logrus.Fields{
		"request_id": c.GetString(middleware.KeyRequestID),
		"operator":   c.GetString(middleware.KeyOperator),
		"op":         op,
	})
	body, ok := middleware.ReadAtMost(c, MaxBodyBytes, "the body is over 8 MiB")
	if !ok {
		return
	}
	var in commonpb.Payloads
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
		problem.Write(c, problem.Invalid(`the body must be {"payloads": [...]} in protobuf JSON`))
		return
	}
	out, err := fn(in.GetPayloads())
	if err != nil {
		// The payloads are never logged: they are what the codec protects.
		log.WithError(err).Info("codec refused payloads")
		problem.Write(c, problem.Invalid("a payload could not be "+op+"d: it is sealed under a key this server does not hold, or altered"))
		return
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		log.WithError(err).Error("marshal payloads")
		problem.Write(c, problem.Internal())
		return
	}
	log.WithField("payloads", len(out)).Debug("codec")
	c.Data(http.StatusOK, "application/json", b)
}
