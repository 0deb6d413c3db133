package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `plateau trains convolutional networks and says why they stall.

Usage:
  plateau train (-preset NAME [-width N] [-depth N] | -spec FILE) -dataset NAME|PATH [-data DIR] [-epochs N]
                [-train-limit N] [-test-limit N] [-seed N] [-set section.field=value ...]
                [-out DIR] [-resume DIR | -weights FILE] [-workers N] [-backend native|xla[:PLUGIN]|auto] [-json]
                [-server URL [-token T]]      (train on a plateau serve's jobs API, shown here)
  plateau jobs [-server URL] [-token T] [-follow ID [-out DIR] | -cancel ID] [-json]
                                           a plateau serve's jobs: listed, followed live, canceled
  plateau data fetch NAME [-data DIR]     download mnist, fashion-mnist or cifar-10
  plateau data info NAME|PATH [-data DIR] [-image-side N]
                                           show what a dataset holds
  plateau presets                          list the model presets
  plateau diagnose -run DIR [-json]        re-diagnose a run saved by train -out
  plateau diff A B [-json]                 what spec B changes from A (run folders, spec files, presets)
  plateau lr-find (-preset NAME [-width N] [-depth N] | -spec FILE) -dataset NAME|PATH [-min LR] [-max LR] [-steps N] [-json]
                                           LR range test: loss against rate, suggested rate
  plateau experiment NAME -dataset NAME|PATH [train's flags] [-backend B] [-json]
                                           A/B runs of one checklist item (plateau experiment list)
  plateau bench [-net NAME | -spec FILE] [-batch N] [-seconds S] [-threads N] [-workers N] [-in native|node|chromium] [-json]
                                           training images per second
  plateau serve [-addr 127.0.0.1:8080] [-data DIR] [-backend auto|native|xla[:PLUGIN]] [-token T] [-jobs DIR] [-limit name=value]
                                           serve the page and the jobs API on http://localhost:8080

Run "plateau COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit status: 0 on
// success, 2 for a usage error, 1 for anything else.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "train":
		err = trainCommand(args[1:], stdout, stderr)
	case "data":
		err = dataCommand(args[1:], stdout, stderr)
	case "diagnose":
		err = diagnoseCommand(args[1:], stdout, stderr)
	case "lr-find":
		err = lrFindCommand(args[1:], stdout, stderr)
	case "experiment":
		err = experimentCommand(args[1:], stdout, stderr)
	case "presets":
		err = presetsCommand(stdout)
	case "diff":
		err = diffCommand(args[1:], stdout, stderr)
	case "bench":
		err = benchCommand(args[1:], stdout, stderr)
	case "serve":
		err = serveCommand(args[1:], stdout, stderr)
	case "jobs":
		err = jobsCommand(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "plateau: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "plateau %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "plateau %s: %v\n", args[0], err)
		return 1
	}
}

// usageError marks errors in how a command was called, as opposed to
// errors while running it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// parseFlags parses a command's flags and refuses anything after them: no
// command takes arguments besides its flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (every option is a -flag, given before nothing else)", fs.Arg(0))
	}
	return nil
}

// multiFlag collects a repeatable flag such as -set.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
