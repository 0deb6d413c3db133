//go:build js || wasip1

package data

// goEnvModCache returns "": there is no go command to ask in a browser.
func goEnvModCache() string { return "" }
