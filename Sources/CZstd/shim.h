#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H

// Umbrella for ResticCompress: the stable libzstd API plus the error-code enum, which lets
// callers tell "destination too small" apart from corrupt input.
#include <zstd.h>
#include <zstd_errors.h>

#endif
