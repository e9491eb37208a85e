#ifndef CLIBCRYPTO_SHIM_H
#define CLIBCRYPTO_SHIM_H

// Umbrella for the parts of OpenSSL 3 that ResticCrypto uses. Only the EVP layer is used,
// so no deprecated low-level API is pulled into Swift.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#endif
