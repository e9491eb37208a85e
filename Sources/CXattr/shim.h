// Extended attribute calls from libc; Swift's Glibc module does not export <sys/xattr.h>.
#include <sys/xattr.h>
