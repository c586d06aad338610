package translator

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is Win32's MEMORYSTATUSEX; x/sys/windows does not wrap
// GlobalMemoryStatusEx, so it is called through kernel32 directly.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

var procGlobalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

func memTotal() (uint64, error) {
	var st memoryStatusEx
	st.Length = uint32(unsafe.Sizeof(st))
	if ok, _, err := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&st))); ok == 0 {
		return 0, fmt.Errorf("read memory size (GlobalMemoryStatusEx): %w", err)
	}
	return st.TotalPhys, nil
}
