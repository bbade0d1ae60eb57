#ifndef SFGIT_LIBGIT2_SHIM_H
#define SFGIT_LIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/commit.h>
#include <git2/sys/transport.h>

/* A smart subtransport with room for a Swift object after libgit2's part: libgit2 hands back
   the pointer to the first member, so the Swift side finds its context. Its streams need no
   room of their own: they reach the context through their subtransport. */
typedef struct {
    git_smart_subtransport parent;
    void *context;
} sfgit_subtransport;

/* Swift does not import C variadic functions: wrap the git_libgit2_opts calls sfgit uses. */
static inline int sfgit_opts_enable_strict_object_creation(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, enabled);
}
static inline int sfgit_opts_enable_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}
static inline int sfgit_opts_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}
static inline int sfgit_opts_enable_fsync_gitdir(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, enabled);
}
static inline int sfgit_opts_set_search_path(int level, const char *path) {
    return git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, path);
}
static inline int sfgit_opts_set_user_agent(const char *agent) {
    return git_libgit2_opts(GIT_OPT_SET_USER_AGENT, agent);
}
static inline int sfgit_opts_set_cache_object_limit(git_object_t type, size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, size);
}
static inline int sfgit_opts_set_cache_max_size(ssize_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, size);
}
static inline int sfgit_opts_set_mwindow_size(size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, size);
}
static inline int sfgit_opts_set_mwindow_mapped_limit(size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, size);
}
#endif
