// Command fakehost is a TEST DOUBLE of a host interpreter as a static
// binary, so the emulated builder can run it under qemu-user: the tests
// build it for a foreign GOARCH. Like the sh double beside it, it answers
// pypyctl's -c probe as a PyPy 2.7 with cffi on the CPU it was built for,
// and runs anything else with /bin/sh (the rpython double).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-c" {
		machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "s390x": "s390x"}[runtime.GOARCH]
		bits := 32 << (^uintptr(0) >> 63)
		fmt.Printf("impl=PyPy\nversion=2.7.18\nmachine=%s\nbits=%d\npypy=7.3.20\ncffi=1.17.1\n", machine, bits)
		return
	}
	// Exec replaces this emulated process with the native shell.
	err := syscall.Exec("/bin/sh", append([]string{"sh"}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "fakehost:", err)
	os.Exit(127)
}
