// glibc's malloc statistics (mallinfo2, malloc_trim), which the Glibc module leaves out.
#include <malloc.h>
