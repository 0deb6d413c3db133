// Command plateau trains convolutional networks from a spec and says why
// they stall: headless training runs, A/B experiments of the checklist's
// items, the doctor on a saved run, what one spec changes from another,
// dataset downloads, throughput
// benchmarks, and the server of the page with its jobs API (which trains
// on the project's own kernels or, built with -tags xla, with GoMLX on
// XLA).
//
//	plateau train (-preset NAME [-width N] [-depth N] | -spec FILE) -dataset NAME|PATH [flags]
//	plateau jobs [-server URL] [-follow ID | -cancel ID]
//	plateau data fetch NAME [-data DIR]
//	plateau data info NAME|PATH [-data DIR] [-image-side N]
//	plateau presets
//	plateau diagnose -run DIR
//	plateau diff A B
//	plateau lr-find (-preset NAME | -spec FILE) -dataset NAME|PATH
//	plateau experiment NAME -dataset NAME|PATH [train's flags]
//	plateau bench [-net NAME | -spec FILE] [-in native|node|chromium]
//	plateau serve [-addr 127.0.0.1:8080] [-data DIR] [-backend auto|native|xla[:PLUGIN]] [-token T]
//
// "plateau COMMAND -h" lists a command's flags.
package main
