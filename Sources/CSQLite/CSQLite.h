// The OS's SQLite (libsqlite3-dev), seen by Swift only through SQLiteDatabase.swift.
#include <sqlite3.h>
