// dial.go - a static Go client for the seccomp engine's fidelity cases and
// benchmark (harness/tests/go.sh, harness/bench/go_dial.sh).
//
//	dial HOST PORT TIMEOUT_S        one net.DialTimeout: prints its error
//	                                (or "connected") and "elapsed S"
//	dial -loop N HOST PORT          N dials in a row: prints "dials/s R"
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	loop := flag.Int("loop", 0, "dial this many times and print the rate")
	flag.Parse()
	a := flag.Args()
	if len(a) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dial [-loop N] HOST PORT [TIMEOUT_S]")
		os.Exit(2)
	}
	addr := net.JoinHostPort(a[0], a[1])
	timeout := 10 * time.Second
	if len(a) > 2 {
		s, _ := strconv.ParseFloat(a[2], 64)
		timeout = time.Duration(s * float64(time.Second))
	}
	if *loop > 0 {
		t0 := time.Now()
		fails := 0
		for i := 0; i < *loop; i++ {
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err != nil {
				fails++
				continue
			}
			c.Close()
		}
		d := time.Since(t0).Seconds()
		fmt.Printf("dials/s %.0f failed %d\n", float64(*loop)/d, fails)
		return
	}
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		fmt.Println(err)
	} else {
		fmt.Println("connected")
		c.Close()
	}
	fmt.Printf("elapsed %.2f\n", time.Since(t0).Seconds())
	if err != nil {
		os.Exit(1)
	}
}
