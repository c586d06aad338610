package translator

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// childGroupRSS is the resident memory, in bytes, of every process in the
// process groups led by this process's direct children: a translation
// runs as such a group (runGroup), so this is RPython plus the compilers
// it started. /proc is read directly; a process that ends mid-scan is
// skipped.
func childGroupRSS() (uint64, bool) {
	self := os.Getpid()
	type proc struct {
		ppid, pgid, pid int
		rss             uint64
	}
	var procs []proc
	leaders := map[int]bool{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	page := uint64(os.Getpagesize())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parens: fields start after
		// the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		// f[0]=state f[1]=ppid f[2]=pgrp … f[21]=rss (pages)
		if len(f) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		rss, _ := strconv.ParseUint(f[21], 10, 64)
		procs = append(procs, proc{ppid, pgid, pid, rss * page})
		if ppid == self && pgid == pid {
			leaders[pid] = true
		}
	}
	if len(leaders) == 0 {
		return 0, false
	}
	var total uint64
	for _, p := range procs {
		if leaders[p.pgid] {
			total += p.rss
		}
	}
	return total, true
}
