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
 * vmctl(8): the command table and the argument parsing of every command.
 * The requests themselves are in vmctl.c.
 */

#include <sys/types.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"
#include "vmctl.h"

static const char	*socket_name = SOCKET_NAME;

static __dead void	 usage(void);
static __dead void	 ctl_usage(struct ctl_command *);
static void		 getopt_reset(void);
static int		 getopt_bsd(int, char *[], const char *);
static int		 parse(int, char *[]);
static int		 parse_vmid(struct parse_result *, const char *, int);
static int		 parse_ifs(struct parse_result *, const char *);
static int		 parse_network(struct parse_result *, const char *);
static int		 parse_disk(struct parse_result *, const char *, int);
static int		 parse_instance(struct parse_result *, const char *);
static void		 parse_size(struct parse_result *, const char *,
			    const char *, uint64_t);
static void		 start_option(struct parse_result *, int,
			    const char *);
static int		 start_parse(struct parse_result *, int, char *[]);
static int		 create_parse(struct parse_result *, int, char *[],
			    const char **, const char **, const char **);
static int		 stop_parse(struct parse_result *, int, char *[]);

static int		 ctl_console(struct parse_result *, int, char *[]);
static int		 ctl_create(struct parse_result *, int, char *[]);
static int		 ctl_load(struct parse_result *, int, char *[]);
static int		 ctl_log(struct parse_result *, int, char *[]);
static int		 ctl_pause(struct parse_result *, int, char *[]);
static int		 ctl_receive(struct parse_result *, int, char *[]);
static int		 ctl_reload(struct parse_result *, int, char *[]);
static int		 ctl_reset(struct parse_result *, int, char *[]);
static int		 ctl_send(struct parse_result *, int, char *[]);
static int		 ctl_start(struct parse_result *, int, char *[]);
static int		 ctl_status(struct parse_result *, int, char *[]);
static int		 ctl_stop(struct parse_result *, int, char *[]);
static int		 ctl_unpause(struct parse_result *, int, char *[]);
static int		 ctl_waitfor(struct parse_result *, int, char *[]);

static struct ctl_command ctl_commands[] = {
	{ "console",	CMD_CONSOLE,	ctl_console,	"id" },
	{ "create",	CMD_CREATE,	ctl_create,
	    "[-b base | -i disk] [-s size] disk" },
	{ "load",	CMD_LOAD,	ctl_load,	"filename" },
	{ "log",	CMD_LOG,	ctl_log,	"[brief | verbose]" },
	{ "pause",	CMD_PAUSE,	ctl_pause,	"id" },
	{ "receive",	CMD_RECEIVE,	ctl_receive,	"name" },
	{ "reload",	CMD_RELOAD,	ctl_reload,	"" },
	{ "reset",	CMD_RESET,	ctl_reset,
	    "[all | switches | vms]" },
	{ "send",	CMD_SEND,	ctl_send,	"id" },
	{ "show",	CMD_STATUS,	ctl_status,	"[-r] [id]" },
	{ "start",	CMD_START,	ctl_start,
	    "[-cL] [-B device] [-b path] [-C count] [-d disk] [-I initrd]\n"
	    "\t\t[-i count] [-k cmdline] [-m size] [-n switch] [-r path]"
	    " [-t name]\n\t\tid | name" },
	{ "status",	CMD_STATUS,	ctl_status,	"[-r] [id]" },
	{ "stop",	CMD_STOP,	ctl_stop,	"[-fw] [id | -a]" },
	{ "unpause",	CMD_UNPAUSE,	ctl_unpause,	"id" },
	{ "wait",	CMD_WAITFOR,	ctl_waitfor,	"id" },
	{ NULL,		NONE,		NULL,		NULL }
};

static __dead void
usage(void)
{
	fprintf(stderr, "usage:\t%s [-v] command [arg ...]\n", getprogname());
	exit(1);
}

static __dead void
ctl_usage(struct ctl_command *ctl)
{
	fprintf(stderr, "usage:\t%s [-v] %s %s\n", getprogname(),
	    ctl->name, ctl->usage);
	exit(1);
}

int
main(int argc, char *argv[])
{
	int	 ch;

	/* a vmd that goes away must not kill us while we write to it */
	signal(SIGPIPE, SIG_IGN);

	while ((ch = getopt_bsd(argc, argv, "s:v")) != -1) {
		switch (ch) {
		case 's':
			socket_name = optarg;
			break;
		case 'v':
			vmctl_verbose = 2;
			break;
		default:
			usage();
			/* NOTREACHED */
		}
	}
	argc -= optind;
	argv += optind;

	if (argc < 1)
		usage();

	return (parse(argc, argv));
}

/* Each command parses its own options with getopt(3) from the start. */
static void
getopt_reset(void)
{
	optreset = 1;
	optind = 1;
}

/*
 * getopt(3) as on OpenBSD: stop at the first argument that is not an
 * option (glibc would permute), and name the program in the messages.
 */
static int
getopt_bsd(int argc, char *argv[], const char *optstr)
{
	char	 buf[32];
	int	 ch;

	(void)snprintf(buf, sizeof(buf), "+%s", optstr);
	opterr = 0;
	if ((ch = getopt(argc, argv, buf)) != '?')
		return (ch);

	if (optopt != ':' && strchr(optstr, optopt) != NULL)
		fprintf(stderr, "%s: option requires an argument -- %c\n",
		    getprogname(), optopt);
	else
		fprintf(stderr, "%s: unknown option -- %c\n", getprogname(),
		    optopt);
	return (ch);
}

static int
parse(int argc, char *argv[])
{
	struct ctl_command	*ctl = NULL;
	struct parse_result	 res;
	size_t			 len;
	int			 i, ret;

	memset(&res, 0, sizeof(res));
	res.nifs = -1;

	/* any unique prefix names a command */
	len = strlen(argv[0]);
	for (i = 0; ctl_commands[i].name != NULL; i++) {
		if (strncmp(ctl_commands[i].name, argv[0], len) != 0)
			continue;
		if (ctl != NULL) {
			fprintf(stderr, "ambiguous argument: %s\n", argv[0]);
			usage();
		}
		ctl = &ctl_commands[i];
	}
	if (ctl == NULL) {
		fprintf(stderr, "unknown argument: %s\n", argv[0]);
		usage();
	}

	res.action = ctl->action;
	res.ctl = ctl;

	getopt_reset();
	ret = ctl->func(&res, argc, argv);
	parse_free(&res);
	vmctl_close();

	return (ret == 0 ? 0 : 1);
}

/* Connect to vmd and run the request the command line asked for. */
int
vmmaction(struct parse_result *res)
{
	int	 ret = 1;

	vmctl_connect(socket_name);

	switch (res->action) {
	case CMD_START:
		ret = vm_start(res);
		break;
	case CMD_STOP:
		ret = vm_terminate(res->id, res->name, res->flags);
		break;
	case CMD_STOPALL:
		ret = vm_stopall(res->flags);
		break;
	case CMD_STATUS:
		ret = vm_status(res->id, res->name, res->rflag);
		break;
	case CMD_CONSOLE:
		ret = vm_console(res->id, res->name);
		break;
	case CMD_WAITFOR:
		ret = vm_waitfor(res->id, res->name);
		break;
	case CMD_PAUSE:
		ret = vm_pause(res->id, res->name, 1);
		break;
	case CMD_UNPAUSE:
		ret = vm_pause(res->id, res->name, 0);
		break;
	case CMD_SEND:
		ret = vm_send(res->id, res->name);
		break;
	case CMD_RECEIVE:
		ret = vm_receive(res->name);
		break;
	case CMD_LOAD:
		ret = vmctl_simple(IMSG_VMDOP_LOAD, res->path,
		    strlen(res->path) + 1);
		break;
	case CMD_LOG:
		ret = vmctl_simple(IMSG_CTL_VERBOSE, &res->verbose,
		    sizeof(res->verbose));
		break;
	case CMD_RELOAD:
		ret = vmctl_simple(IMSG_VMDOP_RELOAD, NULL, 0);
		break;
	case CMD_RESET:
		ret = vmctl_simple(IMSG_CTL_RESET, &res->mode,
		    sizeof(res->mode));
		break;
	default:
		errx(1, "invalid action %u", res->action);
	}

	return (ret);
}

void
parse_free(struct parse_result *res)
{
	int	 i;

	free(res->name);
	free(res->path);
	free(res->initrd);
	free(res->cmdline);
	free(res->isopath);
	free(res->instance);
	for (i = 0; i < res->ndisks; i++)
		free(res->disks[i]);
	free(res->disks);
	free(res->disktypes);
	for (i = 0; i < res->nswitches; i++)
		free(res->switches[i]);
	free(res->switches);
	memset(res, 0, sizeof(*res));
	res->nifs = -1;
}

/*
 * An id is a non-zero number or a VM name.  Words starting with '-' fail
 * silently: they are options in the wrong place.  strict also applies
 * the VM name rule; start leaves that to its own "invalid VM name".
 */
static int
parse_vmid(struct parse_result *res, const char *word, int strict)
{
	const char	*errstr, *p;
	uint32_t	 id;

	if (word == NULL) {
		warnx("missing vmid argument");
		return (-1);
	}
	if (*word == '-')
		return (-1);

	for (p = word; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		id = (uint32_t)strtonum(word, 1, UINT32_MAX, &errstr);
		if (errstr != NULL)
			return (-1);
		free(res->name);
		res->name = NULL;
		res->id = id;
		return (0);
	}

	if (strlen(word) >= VMM_MAX_NAME_LEN) {
		warnx("name too long");
		return (-1);
	}
	if (strict && !vm_name_valid(word))
		return (-1);
	free(res->name);
	if ((res->name = strdup(word)) == NULL)
		err(1, "strdup");
	res->id = 0;
	return (0);
}

static int
parse_ifs(struct parse_result *res, const char *word)
{
	const char	*errstr;
	int		 val;

	val = (int)strtonum(word, 1, INT_MAX, &errstr);
	if (errstr != NULL) {
		warnx("count is %s: %s", errstr, word);
		return (-1);
	}
	res->nifs = val;
	return (0);
}

static int
parse_network(struct parse_result *res, const char *word)
{
	char	**nets, *s;

	if ((nets = reallocarray(res->switches, res->nswitches + 1,
	    sizeof(char *))) == NULL) {
		warn("reallocarray");
		return (-1);
	}
	res->switches = nets;
	if ((s = strdup(word)) == NULL) {
		warn("strdup");
		return (-1);
	}
	res->switches[res->nswitches++] = s;
	return (0);
}

static int
parse_disk(struct parse_result *res, const char *word, int type)
{
	char	**disks, *s;
	int	 *types;

	if ((disks = reallocarray(res->disks, res->ndisks + 1,
	    sizeof(char *))) == NULL) {
		warn("reallocarray");
		return (-1);
	}
	res->disks = disks;
	if ((types = reallocarray(res->disktypes, res->ndisks + 1,
	    sizeof(int))) == NULL) {
		warn("reallocarray");
		return (-1);
	}
	res->disktypes = types;
	if ((s = strdup(word)) == NULL) {
		warn("strdup");
		return (-1);
	}
	res->disks[res->ndisks] = s;
	res->disktypes[res->ndisks] = type;
	res->ndisks++;
	return (0);
}

static int
parse_instance(struct parse_result *res, const char *word)
{
	if (strlen(word) >= VMM_MAX_NAME_LEN) {
		warnx("instance vm name too long");
		return (-1);
	}
	free(res->instance);
	if ((res->instance = strdup(word)) == NULL)
		err(1, "strdup");
	return (0);
}

/* A memory or disk size; the messages are util.c's, as upstream's. */
static void
parse_size(struct parse_result *res, const char *word, const char *type,
    uint64_t limit)
{
	if (vm_size_parse(word, 0, type, limit, &res->size, warnx) == -1)
		exit(1);
}

static void
start_option(struct parse_result *res, int ch, const char *arg)
{
	char		 path[PATH_MAX];
	const char	*s;
	int		 type, direct;

	switch (ch) {
	case 'b':
		if (res->path != NULL)
			errx(1, "boot image specified multiple times");
		if (realpath(arg, path) == NULL)
			err(1, "invalid boot image path");
		if ((res->path = strdup(path)) == NULL)
			err(1, "strdup");
		break;
	case 'B':
		if (res->bootdevice)
			errx(1, "boot device specified multiple times");
		if (strcmp("disk", arg) == 0)
			res->bootdevice = VMBOOTDEV_DISK;
		else if (strcmp("cdrom", arg) == 0)
			res->bootdevice = VMBOOTDEV_CDROM;
		else if (strcmp("net", arg) == 0)
			res->bootdevice = VMBOOTDEV_NET;
		else
			errx(1, "unknown boot device %s", arg);
		break;
	case 'C':
		if (res->ncpus)
			errx(1, "vcpu count specified multiple times");
		res->ncpus = strtonum(arg, 1, VMM_MAX_VCPUS_PER_VM, &s);
		if (s != NULL)
			errx(1, "invalid vcpu count: %s (%s; 1 to %d)", arg, s,
			    VMM_MAX_VCPUS_PER_VM);
		break;
	case 'c':
		res->autoconnect = 1;
		break;
	case 'd':
		/* direct:[format:]path, an extension: O_DIRECT */
		direct = strncmp(arg, "direct:", 7) == 0;
		type = parse_disktype(direct ? arg + 7 : arg, &s);
		if (realpath(s, path) == NULL)
			err(1, "invalid disk path: %s", s);
		if (parse_disk(res, path, type | (direct ? VMDF_DIRECT : 0))
		    != 0)
			errx(1, "invalid disk: %s", arg);
		break;
	case 'I':
		if (res->initrd != NULL)
			errx(1, "initrd specified multiple times");
		if (realpath(arg, path) == NULL)
			err(1, "invalid initrd path: %s", arg);
		if ((res->initrd = strdup(path)) == NULL)
			err(1, "strdup");
		break;
	case 'i':
		if (res->nifs != -1)
			errx(1, "interfaces specified multiple times");
		if (parse_ifs(res, arg) != 0)
			errx(1, "invalid interface count: %s", arg);
		break;
	case 'k':
		if (res->cmdline != NULL)
			errx(1, "kernel command line specified multiple times");
		if (strlen(arg) >= VM_CMDLINE_MAX)
			errx(1, "kernel command line too long");
		if ((res->cmdline = strdup(arg)) == NULL)
			err(1, "strdup");
		break;
	case 'L':
		res->nlocal++;
		break;
	case 'm':
		if (res->size)
			errx(1, "memory specified multiple times");
		parse_size(res, arg, "memory", VMM_MAX_VM_MEM_SIZE);
		break;
	case 'n':
		if (parse_network(res, arg) != 0)
			errx(1, "invalid network: %s", arg);
		break;
	case 'r':
		if (res->isopath != NULL)
			errx(1, "iso image specified multiple times");
		if (realpath(arg, path) == NULL)
			err(1, "invalid iso image path: %s", arg);
		if ((res->isopath = strdup(path)) == NULL)
			err(1, "strdup");
		break;
	case 't':
		if (parse_instance(res, arg) == -1)
			errx(1, "invalid name: %s", arg);
		break;
	default:
		ctl_usage(res->ctl);
		/* NOTREACHED */
	}
}

/*
 * start takes its options before the name (current OpenBSD) or after it
 * (OpenBSD 6.2, as in "start myvm -m 1G -b /bsd"): a first argument that
 * is not an option is the name.
 */
static int
start_parse(struct parse_result *res, int argc, char *argv[])
{
	const char	*optstr = "b:B:C:cd:I:i:k:Lm:n:r:t:";
	const char	*name;
	int		 ch;

	if (argc >= 2 && argv[1][0] != '-') {
		name = argv[1];
		argc--;
		argv++;
		while ((ch = getopt_bsd(argc, argv, optstr)) != -1)
			start_option(res, ch, optarg);
		if (argc - optind != 0)
			ctl_usage(res->ctl);
	} else {
		while ((ch = getopt_bsd(argc, argv, optstr)) != -1)
			start_option(res, ch, optarg);
		argc -= optind;
		argv += optind;
		if (argc != 1)
			ctl_usage(res->ctl);
		name = argv[0];
	}

	if (parse_vmid(res, name, 0) == -1)
		errx(1, "invalid id: %s", name);

	return (0);
}

static int
ctl_start(struct parse_result *res, int argc, char *argv[])
{
	if (start_parse(res, argc, argv) != 0)
		return (1);
	return (vmmaction(res));
}

static int
ctl_status(struct parse_result *res, int argc, char *argv[])
{
	int	 ch;

	while ((ch = getopt_bsd(argc, argv, "r")) != -1) {
		switch (ch) {
		case 'r':
			res->rflag = 1;
			break;
		default:
			ctl_usage(res->ctl);
			/* NOTREACHED */
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 1) {
		if (parse_vmid(res, argv[0], 1) == -1)
			errx(1, "invalid id: %s", argv[0]);
	} else if (argc > 1)
		ctl_usage(res->ctl);

	return (vmmaction(res));
}

static int
stop_parse(struct parse_result *res, int argc, char *argv[])
{
	const char	*id = NULL;
	int		 ch;

	/* "stop id [-fw]" as well as "stop [-fw] id" */
	if (argc >= 2 && argv[1][0] != '-') {
		id = argv[1];
		argc--;
		argv++;
	}
	while ((ch = getopt_bsd(argc, argv, "afw")) != -1) {
		switch (ch) {
		case 'a':
			res->action = CMD_STOPALL;
			break;
		case 'f':
			res->flags |= VMOP_FORCE;
			break;
		case 'w':
			res->flags |= VMOP_WAIT;
			break;
		default:
			ctl_usage(res->ctl);
			/* NOTREACHED */
		}
	}
	argc -= optind;
	argv += optind;

	if (id == NULL && argc > 0) {
		id = argv[0];
		argc--;
	}
	if (argc != 0)
		ctl_usage(res->ctl);

	if (res->action == CMD_STOPALL) {
		if (id != NULL)
			ctl_usage(res->ctl);
	} else {
		if (id == NULL)
			ctl_usage(res->ctl);
		if (parse_vmid(res, id, 1) == -1)
			errx(1, "invalid id: %s", id);
	}
	return (0);
}

static int
ctl_stop(struct parse_result *res, int argc, char *argv[])
{
	if (stop_parse(res, argc, argv) != 0)
		return (1);
	return (vmmaction(res));
}

static int
ctl_console(struct parse_result *res, int argc, char *argv[])
{
	if (argc != 2)
		ctl_usage(res->ctl);
	if (parse_vmid(res, argv[1], 1) == -1)
		errx(1, "invalid id: %s", argv[1]);
	return (vmmaction(res));
}

static int
ctl_waitfor(struct parse_result *res, int argc, char *argv[])
{
	return (ctl_console(res, argc, argv));
}

static int
ctl_pause(struct parse_result *res, int argc, char *argv[])
{
	return (ctl_console(res, argc, argv));
}

static int
ctl_unpause(struct parse_result *res, int argc, char *argv[])
{
	return (ctl_console(res, argc, argv));
}

static int
ctl_load(struct parse_result *res, int argc, char *argv[])
{
	char	 path[PATH_MAX];

	if (argc != 2)
		ctl_usage(res->ctl);

	/* vmd does not share our working directory */
	if (realpath(argv[1], path) == NULL)
		err(1, "load: %s", argv[1]);
	if ((res->path = strdup(path)) == NULL)
		err(1, "strdup");

	return (vmmaction(res));
}

static int
ctl_log(struct parse_result *res, int argc, char *argv[])
{
	size_t	 len;

	if (argc != 2)
		ctl_usage(res->ctl);

	len = strlen(argv[1]);
	if (strncasecmp("brief", argv[1], len) == 0)
		res->verbose = 0;
	else if (strncasecmp("verbose", argv[1], len) == 0)
		res->verbose = 2;
	else
		ctl_usage(res->ctl);

	return (vmmaction(res));
}

static int
ctl_reload(struct parse_result *res, int argc, char *argv[])
{
	if (argc != 1 || argv[1] != NULL)
		ctl_usage(res->ctl);

	return (vmmaction(res));
}

static int
ctl_reset(struct parse_result *res, int argc, char *argv[])
{
	if (argc == 2) {
		if (strcasecmp("all", argv[1]) == 0)
			res->mode = CONFIG_ALL;
		else if (strcasecmp("vms", argv[1]) == 0)
			res->mode = CONFIG_VMS;
		else if (strcasecmp("switches", argv[1]) == 0)
			res->mode = CONFIG_SWITCHES;
		else
			ctl_usage(res->ctl);
	} else if (argc > 2)
		ctl_usage(res->ctl);

	if (res->mode == 0)
		res->mode = CONFIG_ALL;

	return (vmmaction(res));
}

/* send and receive come back with a later milestone */
static int
ctl_send(struct parse_result *res, int argc, char *argv[])
{
	if (argc != 2)
		ctl_usage(res->ctl);
	if (parse_vmid(res, argv[1], 1) == -1)
		errx(1, "invalid id: %s", argv[1]);
	return (vmmaction(res));
}

static int
ctl_receive(struct parse_result *res, int argc, char *argv[])
{
	if (argc != 2)
		ctl_usage(res->ctl);
	if (!vm_name_valid(argv[1]) || strlen(argv[1]) >= VMM_MAX_NAME_LEN)
		errx(1, "invalid VM name");
	if ((res->name = strdup(argv[1])) == NULL)
		err(1, "strdup");
	return (vmmaction(res));
}

/*
 * create takes its options before the disk (current OpenBSD) or after it
 * (OpenBSD 6.2: "create disk.img -s 4.5G").
 */
static int
create_parse(struct parse_result *res, int argc, char *argv[],
    const char **disk, const char **base, const char **input)
{
	const char	*optstr = "b:i:s:";
	int		 ch;

	*disk = *base = *input = NULL;
	if (argc >= 2 && argv[1][0] != '-') {
		*disk = argv[1];
		argc--;
		argv++;
	}
	while ((ch = getopt_bsd(argc, argv, optstr)) != -1) {
		switch (ch) {
		case 'b':
			*base = optarg;
			break;
		case 'i':
			*input = optarg;
			break;
		case 's':
			parse_size(res, optarg, "disk", 0);
			break;
		default:
			ctl_usage(res->ctl);
			/* NOTREACHED */
		}
	}
	argc -= optind;
	argv += optind;

	if (*disk == NULL && argc == 1) {
		*disk = argv[0];
		argc--;
	}
	if (*disk == NULL || argc != 0)
		ctl_usage(res->ctl);
	return (0);
}

static int
ctl_create(struct parse_result *res, int argc, char *argv[])
{
	const char	*arg, *disk, *base, *input, *format, *errstr;
	char		 detail[DISK_ERRLEN];
	uint64_t	 rounded;
	int		 type, ret;

	create_parse(res, argc, argv, &arg, &base, &input);
	type = parse_disktype(arg, &disk);

	if (input != NULL) {
		if (base != NULL)
			errx(1, "conflicting -b and -i arguments");
		errstr = convert_imagefile(input, type, disk, res->size,
		    &format, &rounded, detail, sizeof(detail));
		if (errstr != NULL) {
			if (detail[0] != '\0')
				warnx("%s", detail);
			errx(1, "%s", errstr);
		}
		if (rounded != 0)
			warnx("destination size rounded to %llu megabytes",
			    (unsigned long long)(rounded / 1048576));
		warnx("%s imagefile created", format);
		return (0);
	}

	if (base != NULL && type != VMDF_QCOW2)
		errx(1, "base images require qcow2 disk format");
	if (res->size == 0 && base == NULL) {
		fprintf(stderr, "could not create %s: missing size argument\n",
		    disk);
		ctl_usage(res->ctl);
	}

	if ((ret = create_imagefile(type, disk, base, res->size, &format,
	    detail, sizeof(detail))) != 0) {
		if (detail[0] != '\0')
			errx(1, "%s", detail);
		errno = ret;
		err(1, "create imagefile operation failed");
	}
	warnx("%s imagefile created", format);
	return (0);
}
