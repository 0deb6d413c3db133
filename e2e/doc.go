// Package e2e tests the page end to end: it builds the server and both
// wasm binaries, serves a small dataset, and drives headless Chromium
// through the page as a user would (chromedp). The tests skip when no
// Chromium is installed; CI installs Debian's chromium.
//
// Measurements run only when asked for: TestScreenshots (-screenshots)
// writes docs/*.png; TestTimeToFirstStep (-startup) times a first visit;
// TestFashionMNISTInThreeMinutes (-fashion) measures the accuracy three
// minutes of training reach; TestMemoryOnTheCIFARSample (-memory-sample,
// with -memory-full for a full-size release made of the sample's records
// and -memory-choose to load it through the file input) records the
// worker's, the page's and Chromium's peak memory while a run trains.
package e2e
