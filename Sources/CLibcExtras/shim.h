// Parts of libc that Swift's Glibc module does not export.
#include <sys/xattr.h>
#include <malloc.h>
#include <spawn.h>
#include <dirent.h>
#include <string.h>

// The name of an entry readdir returned, and its length. A record is only d_reclen bytes long,
// so Swift's copy of d_name (declared as 256 bytes) reads past the end of short records, and
// faulted where the buffer readdir fills ends a mapping; here the name is only pointed at.
static inline const char *cartae_dirent_name(const struct dirent *entry, size_t *length) {
    *length = strlen(entry->d_name);
    return entry->d_name;
}

// GNU extensions that Swift's Glibc module hides (it is built without _GNU_SOURCE); glibc
// has had them since 2.9 (pipe2), 2.29 (addchdir_np) and 2.34 (addclosefrom_np).
int pipe2(int pipefd[2], int flags);
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

// listxattrat and getxattrat (Linux 6.13): extended attributes of a name relative to an open
// directory, without resolving the whole path again. Older kernels return ENOSYS; glibc has no
// wrappers yet, and Swift cannot call the variadic syscall().
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <stdint.h>

struct cartae_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

static inline long cartae_listxattrat(int dfd, const char *name, unsigned int at_flags, char *list, size_t size) {
    return syscall(465, dfd, name, at_flags, list, size);
}

static inline long cartae_getxattrat(int dfd, const char *name, unsigned int at_flags, const char *attribute,
                                     void *value, size_t size) {
    struct cartae_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
    return syscall(464, dfd, name, at_flags, attribute, &args, sizeof(args));
}

// O_DIRECT sits behind _GNU_SOURCE too; glibc's __O_DIRECT does not. Turns it on or off for
// `fd`: 1 when that changed the flags, 0 when they were so already, -1 on failure (errno set;
// EINVAL where the file system has no direct I/O).
#include <fcntl.h>

static inline int cartae_set_direct_io(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    int wanted = on ? (flags | __O_DIRECT) : (flags & ~__O_DIRECT);
    if (wanted == flags) return 0;
    return fcntl(fd, F_SETFL, wanted) == 0 ? 1 : -1;
}
