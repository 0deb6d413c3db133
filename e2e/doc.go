// Package e2e tests the page end to end: it builds the server and both
// wasm binaries, serves a small dataset, and drives headless Chromium
// through the page as a user would (chromedp). The tests skip when no
// Chromium is installed; CI installs Debian's chromium.
//
// TestScreenshots, run with -screenshots, writes docs/*.png.
package e2e
