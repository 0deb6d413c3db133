package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"plateau/data"
	"plateau/spec"
)

func dataCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want data fetch NAME or data info NAME|PATH")
	}
	fs := flag.NewFlagSet("data "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data folder holding <name>/<official files> (default $PLATEAU_DATA)")
	imageSide := 0
	if args[0] == "info" {
		fs.IntVar(&imageSide, "image-side", 0, "for image files (PNG, JPEG, …): the longer side to scale them to, as data.image_side (0: larger than 64 scaled down to 64)")
	}
	// Allow the name before or after the flags.
	rest := args[1:]
	var name string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return usagef("data %s: name a dataset (mnist, fashion-mnist, cifar-10)", args[0])
	}
	switch args[0] {
	case "fetch":
		bar := newProgressBar(stderr)
		err := data.Fetch(name, *dataDir, func(done, total int64) {
			bar.bytes(name, done, total)
		})
		if err != nil {
			return err
		}
		bar.line("%s: done", name)
		return nil
	case "info":
		bar := newProgressBar(stderr)
		ds, err := data.Load(name, data.LoadOptions{DataDir: *dataDir, ImageSide: imageSide, Progress: func(done, total int) {
			bar.images(name, done, total)
		}})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, ds.Summary())
		fmt.Fprintf(stdout, "classes: %v\n", ds.Classes)
		fmt.Fprintf(stdout, "train counts: %v\ntest counts: %v\n",
			data.ClassCounts(ds.Train, len(ds.Classes)), data.ClassCounts(ds.Test, len(ds.Classes)))
		return nil
	}
	return usagef("unknown data command %q: want fetch or info", args[0])
}

func presetsCommand(stdout io.Writer) error {
	names := spec.PresetNames()
	sort.Strings(names)
	for _, n := range names {
		s, err := spec.Preset(n)
		if err != nil {
			return err
		}
		count, err := s.Model.ParamCount()
		if err != nil {
			return err
		}
		in := s.Model.Input
		line := fmt.Sprintf("%-18s %d×%d×%d, %s parameters", n, in[0], in[1], in[2], spec.Thousands(count))
		if slices.Contains(spec.ScalablePresets(), n) {
			line += " (-width 16 -depth 3)"
		}
		fmt.Fprintln(stdout, line)
		fmt.Fprintln(stdout, wrap(spec.PresetDescription(n), "    ", 96))
	}
	return nil
}

// wrap breaks text into lines of at most width characters, each starting
// with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}
