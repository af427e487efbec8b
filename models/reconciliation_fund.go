package models

// ReconChannelFund is the reconciliation "channel" of the fund company: its run of
// a date (the fund company's, Asia/Shanghai) compares the fund's confirmations file
// with our fund orders and its holdings file with our wallets' shares. It is no
// payment channel: nothing is charged through it.
const ReconChannelFund = "fund"
