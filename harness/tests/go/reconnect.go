// reconnect.go - the seed's reconnect loop as a static Go program, for the
// seccomp engine's end-to-end tests (harness/tests/go.sh).
//
// Each attempt opens a store of two files and dials 127.0.0.1:PORT, where
// the program itself listens.  fdsoak's rule fails one dial in three.  With
// -leak a failed attempt drops its store without closing it (the bug);
// without it the store is closed on every path (the fix).  Bounded by
// -attempts.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

type store struct{ db, wal *os.File }

func openStore(dir string) (*store, error) {
	db, err := os.OpenFile(filepath.Join(dir, "responses.db"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	wal, err := os.OpenFile(filepath.Join(dir, "responses.db-wal"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &store{db, wal}, nil
}

func (s *store) close() {
	s.db.Close()
	s.wal.Close()
}

func main() {
	leak := flag.Bool("leak", false, "drop the store of a failed attempt")
	port := flag.Int("port", 27320, "port to listen on and dial")
	attempts := flag.Int("attempts", 2000, "attempts at most")
	sleep := flag.Duration("sleep", 5*time.Millisecond, "pause between attempts")
	timeout := flag.Duration("timeout", 2*time.Second, "dial timeout")
	dial := flag.Int("dial", 0, "dial this port instead of our own (a closed one: every dial fails for real)")
	logf := flag.String("log", "", "append the number of each failed dial whose store was dropped (fdsoak's attempt)")
	flag.Parse()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
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
	dir, err := os.MkdirTemp("", "fdsoak-go-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer os.RemoveAll(dir)
	var forgotten []*store
	failed := 0
	var log *os.File
	if *logf != "" {
		if log, err = os.Create(*logf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	for i := 0; i < *attempts; i++ {
		s, err := openStore(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		addr := ln.Addr().String()
		if *dial != 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", *dial)
		}
		c, err := net.DialTimeout("tcp", addr, *timeout)
		if err != nil {
			failed++
			if *leak {
				forgotten = append(forgotten, s)
				// fdsoak counts each injected failure as an attempt, and
				// the store was opened in the attempt this dial ended.
				if log != nil {
					fmt.Fprintln(log, failed)
				}
			} else {
				s.close()
			}
		} else {
			c.Close()
			s.close()
		}
		time.Sleep(*sleep)
	}
	fmt.Printf("%d attempts, %d failed, %d stores dropped\n", *attempts, failed, len(forgotten))
}
