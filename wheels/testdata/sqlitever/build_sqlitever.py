from cffi import FFI

ffibuilder = FFI()
ffibuilder.cdef("const char *sqlite3_libversion(void);")
ffibuilder.set_source(
    "sqlitever._sqlitever",
    "#include <sqlite3.h>",
    libraries=["sqlite3"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
