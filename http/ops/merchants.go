package ops

import (
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
)

// merchantJSON is a merchant as the ops API shows it. Secret is set only in the
// answer that creates the merchant: it is never read back.
type merchantJSON struct {
	Object string `json:"object"`
	models.Merchant
	Secret string `json:"secret,omitempty"`
}

func merchantView(m models.Merchant) merchantJSON {
	return merchantJSON{Object: "merchant", Merchant: m}
}

// merchantID reads the :id path parameter; a malformed id is not found.
func merchantID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if !models.ValidID(models.PrefixMerchant, id) {
		problem.Write(c, problem.NotFound("no such merchant"))
		return "", false
	}
	return id, true
}

// validName accepts 1-255 bytes of UTF-8 that are not all spaces.
func validName(s string) bool {
	return len(s) <= 255 && utf8.ValidString(s) && strings.TrimSpace(s) != ""
}
