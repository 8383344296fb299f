// The OS's libpq (libpq-dev), seen by Swift only through PostgreSQLConnection.swift.
// Without the headers, say which package is missing before the hundreds of Swift errors
// that follow from a module that could not be built.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#elif __has_include(<postgresql/libpq-fe.h>)
#include <postgresql/libpq-fe.h>
#else
#error "libpq-fe.h not found: install PostgreSQL's client headers (Debian/Ubuntu: apt-get install libpq-dev)"
#endif
