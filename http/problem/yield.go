package problem

// Codes of the balance yield's routes.
const (
	// CodeDateNotClosed: a yield run asked for a day that has not ended yet
	// (Asia/Shanghai).
	CodeDateNotClosed = "date_not_closed"
	// CodeUnsupportedProduct: a yield run of a product that pays no balance yield.
	CodeUnsupportedProduct = "unsupported_product"
)
