/* zygote: libwireshark once, then a fork per dissection worker (see zygote.h). */
#include "zygote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "privdrop.h"
#include "ring.h"
#include "worker.h"

/* Messages on the zygote's socket (SOCK_SEQPACKET: one message per send). */
enum { ZM_READY = 1, ZM_SPAWN, ZM_SPAWNED, ZM_EXITED };

struct zmsg {
    uint32_t kind;
    uint32_t lane;
    int32_t pid;
    int32_t status;  /* ZM_READY: enum dis_init_result; ZM_EXITED: the wait status */
    char text[480];  /* ZM_READY: the reason of a failed start-up */
};

struct zygote {
    pid_t pid;
    int sock;
    bool gone;
    uint64_t in_ring, out_ring;
};

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool send_msg(int sock, const struct zmsg *m, const int *fds, int nfds)
{
    struct iovec iov = { (void *)m, sizeof *m };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 3)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    while ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n == (ssize_t)sizeof *m;
}

/* 1: a message (with up to 3 fds), 0: the other end is gone, -1: nothing now (EAGAIN). */
static int recv_msg(int sock, struct zmsg *m, int *fds, int *nfds, int flags)
{
    struct iovec iov = { m, sizeof *m };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 3)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf };
    ssize_t n;
    while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
    if (n == 0 || n != (ssize_t)sizeof *m)
        return 0;
    if (nfds)
        *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fds && nfds) {
            *nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            if (*nfds > 3)
                *nfds = 3;
            memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)*nfds);
        }
    return 1;
}

/* ---- inside the zygote ---- */

struct zstate {
    struct dis *dis;
    struct doc *doc;
    int sock;
    uint64_t in_ring, out_ring;
    struct { pid_t pid; uint32_t lane; } *kids;
    size_t n_kids, cap_kids;
};

static void become_worker(struct zstate *z, int sigfd, const int *fds)
{
    /* The worker: dies with the zygote; no socket, no signal handling of the zygote's. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(z->sock);
    close(sigfd);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    size_t in_bytes = ring_bytes(z->in_ring), out_bytes = ring_bytes(z->out_ring);
    void *mem = mmap(NULL, in_bytes + out_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    if (mem == MAP_FAILED)
        _exit(3);
    close(fds[0]);
    struct ring in, out;
    ring_attach(&in, mem, fds[1], fds[2]);
    ring_attach(&out, (uint8_t *)mem + in_bytes, fds[2], fds[1]);
    worker_run(z->dis, z->doc, &in, &out);
}

static void spawn(struct zstate *z, int sigfd, uint32_t lane, const int *fds)
{
    pid_t pid = fork();
    if (pid == 0)
        become_worker(z, sigfd, fds);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    struct zmsg m = { ZM_SPAWNED, lane, pid, pid < 0 ? errno : 0, "" };
    if (pid > 0) {
        if (z->n_kids == z->cap_kids) {
            z->cap_kids = z->cap_kids ? z->cap_kids * 2 : 16;
            z->kids = xrealloc(z->kids, z->cap_kids * sizeof *z->kids);
        }
        z->kids[z->n_kids].pid = pid;
        z->kids[z->n_kids++].lane = lane;
    } else {
        m.kind = ZM_EXITED; /* could not fork: as if it died at once */
        m.status = 0x7f00;
    }
    send_msg(z->sock, &m, NULL, 0);
}

static void reap(struct zstate *z)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < z->n_kids; i++) {
            if (z->kids[i].pid != pid)
                continue;
            struct zmsg m = { ZM_EXITED, z->kids[i].lane, pid, status, "" };
            send_msg(z->sock, &m, NULL, 0);
            z->kids[i] = z->kids[--z->n_kids];
            break;
        }
    }
}

/* Files named by -o preferences (a TLS key log, say) are read by the dissectors while they
 * work, as the user the workers run as: say so when that user cannot read one. */
static void check_pref_files(const struct dis_config *dc, bool *readable, bool after,
                             const char *user)
{
    for (size_t i = 0; i < dc->n_prefs && i < 64; i++) {
        const char *colon = strchr(dc->prefs[i], ':');
        const char *path = colon ? colon + 1 : NULL;
        if (!path || path[0] != '/')
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
        if (!after)
            readable[i] = fd >= 0;
        else if (readable[i] && fd < 0)
            log_warn("-o '%s': %s cannot be read by %s, the user the dissection workers run "
                     "as (--run-as): the dissectors will not see it; make it readable by %s "
                     "(its folders too), or choose --run-as", dc->prefs[i], path, user, user);
    }
}

static void zygote_main(const struct zygote_config *cfg, int sock) __attribute__((noreturn));

static void zygote_main(const struct zygote_config *cfg, int sock)
{
    /* Dies with the reader; writes nothing to standard output (the documents' stream). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    signal(SIGINT, SIG_IGN); /* the reader decides how a run ends */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    struct zmsg m = { ZM_READY, 0, 0, DIS_INIT_OK, "" };
    struct zstate z = { .sock = sock, .in_ring = cfg->in_ring, .out_ring = cfg->out_ring };
    m.status = dis_global_init(cfg->dis, m.text, sizeof m.text);
    if (m.status == DIS_INIT_OK) {
        z.doc = doc_new(cfg->doc, m.text, sizeof m.text);
        if (!z.doc)
            m.status = DIS_INIT_FATAL;
    }
    if (m.status == DIS_INIT_OK) {
        /* The session every worker starts with: made once, here, so that a worker needs
         * no set-up of its own (a session costs about 0.1 s and 11 MB). */
        z.dis = dis_new();
        dis_begin_session(z.dis, 0);
        uid_t uid = 0;
        gid_t gid = 0;
        bool drop = cfg->run_as && strcmp(cfg->run_as, "root") != 0 && geteuid() == 0;
        bool readable[64] = { false };
        check_pref_files(cfg->dis, readable, false, NULL);
        if (drop && !privdrop_lookup(cfg->run_as, &uid, &gid, m.text, sizeof m.text))
            m.status = DIS_INIT_USAGE;
        else if (!privdrop(drop ? uid : geteuid(), drop ? gid : getegid(), m.text, sizeof m.text))
            m.status = DIS_INIT_FATAL;
        else if (drop)
            check_pref_files(cfg->dis, readable, true, cfg->run_as);
    }
    send_msg(sock, &m, NULL, 0);
    if (m.status != DIS_INIT_OK)
        _exit(1);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = { { sock, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) > 0)
                ;
            reap(&z);
        }
        if (p[0].revents) {
            struct zmsg in;
            int fds[3], nfds = 0;
            int r = recv_msg(sock, &in, fds, &nfds, MSG_DONTWAIT);
            if (r == 0)
                break; /* the reader is done (or gone): so are we */
            if (r > 0 && in.kind == ZM_SPAWN && nfds == 3)
                spawn(&z, sigfd, in.lane, fds);
            else
                for (int i = 0; i < nfds; i++)
                    close(fds[i]);
        }
    }
    for (size_t i = 0; i < z.n_kids; i++)
        kill(z.kids[i].pid, SIGKILL);
    _exit(0);
}

/* ---- the reader's side ---- */

struct zygote *zygote_start(const struct zygote_config *cfg, char *err, size_t errlen)
{
    int threads = count_threads();
    if (threads != 1) {
        snprintf(err, errlen, "internal error: %d threads exist where the dissection workers "
                 "are forked (there must be one)", threads);
        return NULL;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "cannot start the dissection workers: %s", strerror(errno));
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the dissection workers: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    if (pid == 0) {
        close(sv[0]);
        zygote_main(cfg, sv[1]);
    }
    close(sv[1]);
    struct zygote *z = xcalloc(1, sizeof *z);
    z->pid = pid;
    z->sock = sv[0];
    z->in_ring = cfg->in_ring;
    z->out_ring = cfg->out_ring;
    return z;
}

enum dis_init_result zygote_wait_ready(struct zygote *z, char *err, size_t errlen)
{
    struct zmsg m;
    if (recv_msg(z->sock, &m, NULL, NULL, 0) != 1 || m.kind != ZM_READY) {
        z->gone = true;
        snprintf(err, errlen, "the dissection process ended during start-up");
        return DIS_INIT_FATAL;
    }
    if (m.status != DIS_INIT_OK) {
        m.text[sizeof m.text - 1] = '\0';
        snprintf(err, errlen, "%s", m.text);
    }
    fcntl(z->sock, F_SETFL, fcntl(z->sock, F_GETFL) | O_NONBLOCK);
    return (enum dis_init_result)m.status;
}

int zygote_spawn(struct zygote *z, uint32_t lane, int memfd, int efd_worker, int efd_reader)
{
    struct zmsg m = { ZM_SPAWN, lane, 0, 0, "" };
    int fds[3] = { memfd, efd_worker, efd_reader };
    if (z->gone || !send_msg(z->sock, &m, fds, 3)) {
        z->gone = true;
        return -1;
    }
    return 0;
}

int zygote_fd(const struct zygote *z) { return z->sock; }

bool zygote_gone(const struct zygote *z) { return z->gone; }

bool zygote_read_report(struct zygote *z, struct zygote_report *r)
{
    struct zmsg m;
    int got = recv_msg(z->sock, &m, NULL, NULL, MSG_DONTWAIT);
    if (got == 0) {
        z->gone = true;
        return false;
    }
    if (got < 0)
        return false;
    r->kind = m.kind == ZM_SPAWNED ? ZR_SPAWNED : ZR_EXITED;
    r->lane = m.lane;
    r->pid = m.pid;
    r->status = m.status;
    return true;
}

void zygote_stop(struct zygote *z)
{
    if (!z)
        return;
    close(z->sock);
    int status;
    while (waitpid(z->pid, &status, 0) < 0 && errno == EINTR)
        ;
    free(z);
}
