// The OS's libcrypto (OpenSSL 3, libssl-dev), seen by Swift only through SHA256.swift and the
// signing keys in Sources/AscribeRuntime/Crypto/.
// Without the headers, say which package is missing before the hundreds of Swift errors
// that follow from a module that could not be built.
#if __has_include(<openssl/evp.h>)
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#else
#error "openssl/evp.h not found: install OpenSSL's headers (Debian/Ubuntu: apt-get install libssl-dev)"
#endif
