// dial.go - a static Go client for the seccomp engine's fidelity cases and
// benchmark (harness/tests/go.sh, harness/bench/go_dial.sh).
//
//	dial HOST PORT TIMEOUT_S        one net.DialTimeout: prints its error
//	                                (or "connected") and "elapsed S"
//	dial -http HOST PORT TIMEOUT_S  one net/http GET of http://HOST:PORT/ instead
//	dial -loop N HOST PORT          N dials in a row: prints "dials/s R"
//	dial -loop N -self              the same against a listener of its own
//	dial -lookup NAME               one net.LookupHost (Go's own resolver):
//	                                its error or "resolved", and "elapsed S"
//	dial -loop N -lookup NAME       N lookups in a row: prints "lookups/s R"
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	loop := flag.Int("loop", 0, "dial this many times and print the rate")
	useHTTP := flag.Bool("http", false, "one net/http GET instead of one dial")
	self := flag.Bool("self", false, "with -loop: dial a listener of our own")
	lookup := flag.String("lookup", "", "look NAME up and print the outcome")
	flag.Parse()
	a := flag.Args()
	if *lookup != "" && *loop > 0 {
		t0 := time.Now()
		fails := 0
		for i := 0; i < *loop; i++ {
			if _, err := net.LookupHost(*lookup); err != nil {
				fails++
			}
		}
		fmt.Printf("lookups/s %.0f failed %d\n", float64(*loop)/time.Since(t0).Seconds(), fails)
		return
	}
	if *lookup != "" {
		t0 := time.Now()
		_, err := net.LookupHost(*lookup)
		if err != nil {
			fmt.Println(err)
		} else {
			fmt.Println("resolved")
		}
		fmt.Printf("elapsed %.2f\n", time.Since(t0).Seconds())
		if err != nil {
			os.Exit(1)
		}
		return
	}
	if *self {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		h, p, _ := net.SplitHostPort(ln.Addr().String())
		a = []string{h, p}
	}
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
	var err error
	if *useHTTP {
		var r *http.Response
		r, err = (&http.Client{Timeout: timeout}).Get("http://" + addr + "/")
		if err == nil {
			fmt.Println("status", r.StatusCode)
			r.Body.Close()
		}
	} else {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			fmt.Println("connected")
			c.Close()
		}
	}
	if err != nil {
		fmt.Println(err)
	}
	fmt.Printf("elapsed %.2f\n", time.Since(t0).Seconds())
	if err != nil {
		os.Exit(1)
	}
}
