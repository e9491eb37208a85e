// Parts of libc that Swift's Glibc module does not export.
#include <sys/xattr.h>
#include <malloc.h>
