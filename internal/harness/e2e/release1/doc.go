// Package release1 is the payment workflow exactly as payflow released it first
// (commit 458691f, the shape of workflows/testdata/v1-payment-*.json), frozen so that
// the upgrade test can start a payment on the old code and finish it on the new
// worker. It is a test fixture: never change it; a later release gets its own package.
package release1
