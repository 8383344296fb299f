// The OS's libcrypto (OpenSSL 3, libssl-dev), seen by Swift only through SHA256.swift.
#include <openssl/evp.h>
#include <openssl/err.h>
