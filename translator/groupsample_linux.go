package translator

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: the kernel
// reports them in USER_HZ, fixed at 100 on every architecture pypyctl
// builds for (Go has no sysconf without cgo to ask).
const userHZ = 100

// childGroupSample measures every process in the process groups led by
// this process's direct children: a translation runs as such a group
// (runGroup), so this is RPython plus the compilers it started. /proc is
// read directly; a process that ends mid-scan is skipped.
//
// CPU counts each live process's own time plus what its reaped children
// used: gcc's time reaches make's, make's reaches RPython's, all inside
// the group, so the sum only grows (bwrap's pid namespace keeps the total
// from reaching pypyctl's own rusage, hence the sampling).
func childGroupSample() (groupSample, bool) {
	self := os.Getpid()
	type proc struct {
		pgid  int
		rss   uint64
		ticks uint64
	}
	var procs []proc
	leaders := map[int]bool{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return groupSample{}, false
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
		// f[0]=state f[1]=ppid f[2]=pgrp f[11]=utime f[12]=stime
		// f[13]=cutime f[14]=cstime … f[21]=rss (pages)
		if len(f) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		rss, _ := strconv.ParseUint(f[21], 10, 64)
		var ticks uint64
		for _, s := range f[11:15] {
			n, _ := strconv.ParseUint(s, 10, 64)
			ticks += n
		}
		procs = append(procs, proc{pgid, rss * page, ticks})
		if ppid == self && pgid == pid {
			leaders[pid] = true
		}
	}
	if len(leaders) == 0 {
		return groupSample{}, false
	}
	var s groupSample
	var ticks uint64
	for _, p := range procs {
		if leaders[p.pgid] {
			s.RSS += p.rss
			ticks += p.ticks
		}
	}
	s.CPUSeconds = float64(ticks) / userHZ
	return s, true
}
