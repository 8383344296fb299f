// The OS's SQLite (libsqlite3-dev), seen by Swift only through SQLiteDatabase.swift.
// Without the headers, say which package is missing before the hundreds of Swift errors
// that follow from a module that could not be built.
#if __has_include(<sqlite3.h>)
#include <sqlite3.h>
#else
#error "sqlite3.h not found: install SQLite's headers (Debian/Ubuntu: apt-get install libsqlite3-dev)"
#endif
