// Parts of libc that Swift's Glibc module does not export.
#include <sys/xattr.h>
#include <malloc.h>
#include <spawn.h>

// GNU extensions that Swift's Glibc module hides (it is built without _GNU_SOURCE); glibc
// has had them since 2.9 (pipe2), 2.29 (addchdir_np) and 2.34 (addclosefrom_np).
int pipe2(int pipefd[2], int flags);
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
