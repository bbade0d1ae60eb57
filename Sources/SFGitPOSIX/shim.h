#ifndef SFGIT_POSIX_SHIM_H
#define SFGIT_POSIX_SHIM_H
/* The few Linux calls Swift cannot reach through Glibc: variadic ones (prctl) and GNU extensions
   the Glibc module is built without (_GNU_SOURCE). Declared here, linked from libc. */
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>

extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

/* Makes the kernel send SIGKILL to this process when the thread that started it ends. */
static inline int sfgit_kill_on_parent_death(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
}
#endif
