/* privdrop: groups, gid, uid, capabilities, no_new_privs (see privdrop.h). */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

bool privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "--run-as: no user named '%s'%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return false;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return true;
}

/* All three capability sets empty (glibc has no wrapper; libcap is not needed for this). */
static int clear_caps(void)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    return (int)syscall(SYS_capset, &h, d);
}

bool privdrop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (geteuid() == 0 && uid != 0) {
        /* The bounding set first, while CAP_SETPCAP is still ours. */
        for (int cap = 0; cap <= 63; cap++)
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                break;
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
            setresuid(uid, uid, uid) != 0) {
            snprintf(err, errlen, "cannot become uid %u gid %u: %s", (unsigned)uid, (unsigned)gid,
                     strerror(errno));
            return false;
        }
        if (setuid(0) == 0) { /* must be impossible now */
            snprintf(err, errlen, "could regain root after dropping it");
            return false;
        }
    }
    /* Not root (any more): no capability either, also one given to the program file
     * (setcap) for capturing. Root that stays root (--run-as=root) keeps its own. */
    if (geteuid() != 0 && clear_caps() != 0) {
        snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
        return false;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return false;
    }
    return true;
}
