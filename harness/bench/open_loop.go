// open_loop.go - N opens and closes of one file, and the rate: the Go side
// of harness/bench/sup_origins.sh.  Usage: open_loop FILE N
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

//go:noinline
func openStore(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: open_loop FILE N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: open_loop FILE N")
		os.Exit(2)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		f, err := openStore(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.Close()
	}
	fmt.Printf("opens/s %.0f\n", float64(n)/time.Since(start).Seconds())
}
