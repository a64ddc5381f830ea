/*
 * Copyright (c) 2026 The vmd-linux project
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */


/*
 * libFuzzer target: the vm.conf(5) parser (parse.y), fed the input as a
 * configuration file.  The parser yacc made is included here, with its
 * few ways out to the system turned to fakes: the file and any include
 * are streams in memory (only "/fuzz/include.conf" exists, so includes
 * neither recurse nor reach real files), a disk's format is read from a
 * fake qcow2 image, and paths resolve without touching the filesystem.
 * Logging is quiet.  Nothing may crash, leak (macros, strings, VMs and
 * switches of any parse, good or bad), or hang.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ether.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "log.h"

#define FUZZ_CONF	"/fuzz/vm.conf"
#define FUZZ_INCLUDE	"/fuzz/include.conf"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static FILE	*fuzz_fopen(const char *, const char *);
static int	 fuzz_open(const char *, int, ...);
static char	*fuzz_realpath(const char *, char *);

#define fopen		fuzz_fopen
#define open		fuzz_open
#define realpath	fuzz_realpath
/* yacc's output is not ours to keep warning-free (PARSE_CFLAGS) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include "parse.c"
#pragma GCC diagnostic pop
#undef fopen
#undef open
#undef realpath

static char		*conf;
static size_t		 conflen;
static int		 qcow2fd = -1;
static int		 rawfd = -1;	/* any other disk: a raw image */

/* what an include finds: a macro, a switch and a VM, one bad line */
static char		 included[] =
    "inc_mem = \"64M\"\n"
    "switch \"incsw\" { interface br0 }\n"
    "vm \"incvm\" { memory $inc_mem\n disk /fuzz/inc.qcow2 }\n"
    "bogus line\n";

static FILE *
fuzz_fopen(const char *path, const char *mode)
{
	(void)mode;
	if (strcmp(path, FUZZ_CONF) == 0 && conflen > 0)
		return (fmemopen(conf, conflen, "r"));
	if (strcmp(path, FUZZ_INCLUDE) == 0)
		return (fmemopen(included, sizeof(included) - 1, "r"));
	errno = ENOENT;
	return (NULL);
}

/* disk_format's look at an image: any name ending in qcow2 is one */
static int
fuzz_open(const char *path, int flags, ...)
{
	size_t	len = strlen(path);

	(void)flags;
	if (len >= 5 && strcmp(path + len - 5, "qcow2") == 0)
		return (dup(qcow2fd));
	/* a disk must exist (as upstream's parser checks): all do but these */
	if (strstr(path, "missing") == NULL)
		return (dup(rawfd));
	errno = ENOENT;
	return (-1);
}

/*
 * Paths resolve to themselves, made absolute; names that say so fail
 * as the real call can.
 */
static char *
fuzz_realpath(const char *path, char *resolved)
{
	if (strlen(path) >= PATH_MAX - 8) {
		errno = ENAMETOOLONG;
		return (NULL);
	}
	if (strstr(path, "missing") != NULL) {
		errno = ENOENT;
		return (NULL);
	}
	if (strstr(path, "notdir") != NULL) {
		errno = ENOTDIR;
		return (NULL);
	}
	if (strstr(path, "denied") != NULL) {
		errno = EACCES;
		return (NULL);
	}
	(void)snprintf(resolved, PATH_MAX, "%s%s", path[0] == '/' ? "" :
	    "/fuzz/", path);
	return (resolved);
}

/* log.c, quiet: the arguments are still formatted */
static void
fuzz_vlog(const char *fmt, va_list ap)
{
	char	buf[1024];

	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
}

void
log_init(int n_debug, int facility)
{
	(void)n_debug;
	(void)facility;
}

void
log_procinit(const char *procname)
{
	(void)procname;
}

void
log_setverbose(int v)
{
	(void)v;
}

int
log_getverbose(void)
{
	return (0);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	(void)pri;
	fuzz_vlog(fmt, ap);
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	(void)pri;
	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

#define FUZZ_LOGFN(name)			\
void						\
name(const char *fmt, ...)			\
{						\
	va_list	ap;				\
						\
	va_start(ap, fmt);			\
	fuzz_vlog(fmt, ap);			\
	va_end(ap);				\
}
FUZZ_LOGFN(log_warn)
FUZZ_LOGFN(log_warnx)
FUZZ_LOGFN(log_info)
FUZZ_LOGFN(log_debug)

/* no configuration may make the parser give up the process */
void
fatal(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

void
fatalx(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static void
fuzz_setup(void)
{
	char	def[] = "fuzz_def=\"from -D\"";

	if ((qcow2fd = memfd_create("fuzzqcow2", MFD_CLOEXEC)) == -1 ||
	    write(qcow2fd, QCOW2_MAGIC "\0\0\0\3", 8) != 8)
		abort();
	if ((rawfd = memfd_create("fuzzraw", MFD_CLOEXEC)) == -1 ||
	    ftruncate(rawfd, 1 << 20) == -1)
		abort();
	if (cmdline_symset(def) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct vmd_parsed	 p;
	struct vmd_vm		*vm;
	unsigned int		 i;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	if (size == 0)
		return (0);
	if ((conf = malloc(size)) == NULL)
		abort();
	memcpy(conf, data, size);
	conflen = size;

	parsed_init(&p);
	if (parse_config(&p, FUZZ_CONF, 0) == 0) {
		/* what vmd takes from a good parse holds together */
		TAILQ_FOREACH(vm, &p.vms, vm_entry) {
			const struct vmop_create_params	*vmc = &vm->vm_params;

			if (vmc->vmc_ndisks > VM_MAX_DISKS_PER_VM ||
			    vmc->vmc_nnics > VM_MAX_NICS_PER_VM ||
			    vmc->vmc_params.vcp_ncpus < 1 ||
			    vmc->vmc_params.vcp_ncpus > VMM_MAX_VCPUS_PER_VM ||
			    memchr(vmc->vmc_params.vcp_name, '\0',
			    sizeof(vmc->vmc_params.vcp_name)) == NULL ||
			    !vm_name_valid(vmc->vmc_params.vcp_name))
				abort();
			for (i = 0; i < vmc->vmc_ndisks; i++)
				if (memchr(vmc->vmc_disks[i], '\0',
				    sizeof(vmc->vmc_disks[i])) == NULL)
					abort();
		}
	}
	parsed_clear(&p);
	if (!TAILQ_EMPTY(&files) || !SLIST_EMPTY(&pool) || psw != NULL)
		abort();	/* left over for the next parse */

	free(conf);
	conf = NULL;
	conflen = 0;
	return (0);
}
