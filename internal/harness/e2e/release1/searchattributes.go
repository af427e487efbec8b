package release1

import "go.temporal.io/sdk/temporal"

// Search attributes of every flow. make run registers them on the dev server; a
// cluster registers them with `temporal operator search-attribute create`.
var (
	SAMerchant = temporal.NewSearchAttributeKeyKeyword("PayflowMerchant")
	SAFlow     = temporal.NewSearchAttributeKeyKeyword("PayflowFlow")
	SAStage    = temporal.NewSearchAttributeKeyKeyword("PayflowStage")
	SAChannel  = temporal.NewSearchAttributeKeyKeyword("PayflowChannel")
	SACurrency = temporal.NewSearchAttributeKeyKeyword("PayflowCurrency")
	SAAmount   = temporal.NewSearchAttributeKeyInt64("PayflowAmount")
)

// SearchAttributeTypes maps each attribute name to its Temporal type, for the dev
// server's --search-attribute flags and `temporal operator search-attribute create`.
var SearchAttributeTypes = []struct{ Name, Type string }{
	{"PayflowMerchant", "Keyword"},
	{"PayflowFlow", "Keyword"},
	{"PayflowStage", "Keyword"},
	{"PayflowChannel", "Keyword"},
	{"PayflowCurrency", "Keyword"},
	{"PayflowAmount", "Int"},
}
