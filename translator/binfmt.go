package translator

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// Binfmt is what the kernel's binfmt_misc says about running another
// arch's binaries through qemu-user. A foreign-arch builder image needs
// BinfmtReady: inside it RPython starts gcc, make and the built program as
// ordinary aarch64 (…) executables, and only the F (fix-binary) flag makes
// the interpreter work inside the sandbox, whose file system is the
// image's.
type Binfmt int

const (
	BinfmtUnmounted   Binfmt = iota // binfmt_misc is not mounted
	BinfmtMissing                   // no qemu-<arch> entry
	BinfmtDisabled                  // the entry is there but disabled
	BinfmtNoFixBinary               // enabled, without the F flag
	BinfmtReady                     // enabled with the F flag
)

const (
	// binfmtDir is where binfmt_misc is mounted.
	binfmtDir = "/proc/sys/fs/binfmt_misc"
	// binfmtConfDir holds the entries qemu-user-static ships, one
	// register line per arch (systemd's binfmt.d format, flags OPF).
	binfmtConfDir = "/usr/lib/binfmt.d"
)

// readBinfmt reads binfmt_misc's entry for qemu-<arch> ("aarch64") under
// dir.
func readBinfmt(dir, arch string) Binfmt {
	if _, err := os.Stat(path.Join(dir, "register")); err != nil {
		return BinfmtUnmounted
	}
	b, err := os.ReadFile(path.Join(dir, "qemu-"+arch))
	if err != nil {
		return BinfmtMissing
	}
	return parseBinfmtEntry(string(b))
}

// parseBinfmtEntry reads an entry file: "enabled" or "disabled" on the
// first line, then "flags: POF" among the others.
func parseBinfmtEntry(s string) Binfmt {
	lines := strings.Split(s, "\n")
	if lines[0] != "enabled" {
		return BinfmtDisabled
	}
	for _, l := range lines[1:] {
		if f, ok := strings.CutPrefix(l, "flags:"); ok && strings.Contains(f, "F") {
			return BinfmtReady
		}
	}
	return BinfmtNoFixBinary
}

// binfmtFix is the exact way from state to BinfmtReady, as commands run
// as root: register the entry qemu-user-static ships (whose flags include
// F), after mounting binfmt_misc or removing an entry without F.
// haveConf says whether that entry file is installed.
func binfmtFix(state Binfmt, arch string, haveConf bool) string {
	entry := path.Join(binfmtDir, "qemu-"+arch)
	conf := path.Join(binfmtConfDir, "qemu-"+arch+".conf")
	register := fmt.Sprintf("cat %s > %s/register", conf, binfmtDir)
	var steps []string
	if !haveConf {
		steps = append(steps, "apt-get install qemu-user-static")
	}
	switch state {
	case BinfmtUnmounted:
		steps = append(steps, "mount -t binfmt_misc binfmt_misc "+binfmtDir, register)
	case BinfmtMissing:
		steps = append(steps, register)
	default: // disabled or without F: replace the entry
		steps = append(steps, "echo -1 > "+entry, register)
	}
	return "as root: " + strings.Join(steps, " && ") +
		" (scripts/setup.sh of pypyctl's source does this), or translate on a native runner"
}

// describe says what is wrong with the entry for qemu-<arch>.
func (b Binfmt) describe(arch string) string {
	entry := path.Join(binfmtDir, "qemu-"+arch)
	switch b {
	case BinfmtUnmounted:
		return "binfmt_misc is not mounted at " + binfmtDir
	case BinfmtMissing:
		return entry + " is not registered"
	case BinfmtDisabled:
		return entry + " is disabled"
	case BinfmtNoFixBinary:
		return entry + " lacks the F (fix-binary) flag, so qemu is not found inside the sandbox"
	}
	return entry + " is registered with the F flag"
}
