// Command gosizes prints exact gc struct layouts for a Go source tree, in memcheck's
// memcheck.layout/v1 JSON, using go/build + go/types from source and the gc compiler's size rules.
// It never runs the go command and needs no network. With -stdlib it writes memcheck's
// standard-library layout table instead.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	archFlag := flag.String("arch", "amd64", "comma-separated GOARCH list (\"all\" for every gc arch)")
	goos := flag.String("goos", "linux", "GOOS")
	stdlib := flag.Bool("stdlib", false, "write the standard-library table (memcheck.stdlib/v1) instead of a tree layout")
	fields := flag.Bool("fields", true, "with -stdlib: include per-field layouts of struct types")
	pkgsFlag := flag.String("pkgs", "", "with -stdlib: comma-separated package list, or \"all\" for every importable std package (default: the built-in list)")
	outFlag := flag.String("o", "", "write the JSON to this file instead of stdout")
	indent := flag.Bool("indent", false, "indent the JSON")
	flag.Parse()

	archs := splitList(*archFlag)
	if *archFlag == "all" {
		archs = allArchs
	}
	for _, a := range archs {
		if sizesArchKnown(a) == false {
			fmt.Fprintf(os.Stderr, "gosizes: unknown arch %q\n", a)
			os.Exit(2)
		}
	}
	var v interface{}
	if *stdlib {
		if *archFlag == "amd64" && !flagSet("arch") {
			archs = allArchs
		}
		pkgs := stdlibPackages
		if *pkgsFlag == "all" {
			pkgs = allStdPackages()
		} else if *pkgsFlag != "" {
			pkgs = splitList(*pkgsFlag)
		}
		v = buildStdlib(pkgs, archs, *goos, *fields)
	} else {
		if flag.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: gosizes [-arch amd64,386] [-goos linux] <dir>   |   gosizes -stdlib [-o file]")
			os.Exit(2)
		}
		out, err := dumpTree(flag.Arg(0), *goos, archs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gosizes:", err)
			os.Exit(1)
		}
		v = out
	}
	var data []byte
	var err error
	if *indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosizes:", err)
		os.Exit(1)
	}
	data = append(data, '\n')
	if *outFlag != "" {
		err = os.WriteFile(*outFlag, data, 0o644)
	} else {
		_, err = os.Stdout.Write(data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosizes:", err)
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func sizesArchKnown(a string) bool {
	for _, x := range allArchs {
		if x == a {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
