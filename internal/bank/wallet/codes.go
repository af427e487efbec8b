package wallet

// ProviderForCode returns the wallet provider whose payment codes look like code:
// 18 digits starting 25-30 (alipaysim) or 10-15 (wxpaysim). ok is false for any
// other code (payflow's own wallet codes start 99).
func ProviderForCode(code string) (provider string, ok bool) {
	if len(code) != 18 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	switch prefix := int(code[0]-'0')*10 + int(code[1]-'0'); {
	case prefix >= 25 && prefix <= 30:
		return Alipay, true
	case prefix >= 10 && prefix <= 15:
		return Wxpay, true
	}
	return "", false
}
