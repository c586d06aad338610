from sqlitever._sqlitever import ffi, lib


def version():
    """The version of the SQLite library the extension is linked to."""
    return ffi.string(lib.sqlite3_libversion()).decode()
