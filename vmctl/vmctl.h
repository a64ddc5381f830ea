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
 * vmctl: the command table and parse result of main.c, and the
 * request/response operations of vmctl.c.
 */

#ifndef VMCTL_H
#define VMCTL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "vmd.h"

#define VMCTL_CONSOLE_SPEED	115200

enum actions {
	NONE,
	CMD_CONSOLE,
	CMD_CREATE,
	CMD_LOAD,
	CMD_LOG,
	CMD_PAUSE,
	CMD_RECEIVE,
	CMD_RELOAD,
	CMD_RESET,
	CMD_SEND,
	CMD_START,
	CMD_STATUS,
	CMD_STOP,
	CMD_STOPALL,
	CMD_UNPAUSE,
	CMD_WAITFOR
};

struct ctl_command;

/* what the command line asked for */
struct parse_result {
	enum actions		 action;
	uint32_t		 id;		/* 0: by name */
	char			*name;
	char			*path;		/* boot image: kernel or BIOS */
	char			*initrd;	/* ours: -I */
	char			*cmdline;	/* ours: -k */
	char			*isopath;
	char			*instance;
	uint64_t		 size;		/* bytes, 0: not given */
	unsigned int		 ncpus;		/* ours: -C, 0: not given */
	int			 nifs;		/* -i count, -1: not given */
	int			 nlocal;	/* -L */
	char			**switches;	/* -n, in order */
	int			 nswitches;
	int			 ndisks;
	char			**disks;
	int			*disktypes;
	int			 verbose;	/* log: 0 brief, 2 verbose */
	unsigned int		 mode;		/* reset: CONFIG_* */
	unsigned int		 flags;		/* stop: VMOP_FORCE|VMOP_WAIT */
	unsigned int		 bootdevice;
	int			 autoconnect;	/* start -c */
	int			 rflag;		/* status -r */
	struct ctl_command	*ctl;
};

struct ctl_command {
	const char		*name;
	enum actions		 action;
	int			(*func)(struct parse_result *, int, char *[]);
	const char		*usage;
};

/* the console's escape state, as cu(1): "~." at the start of a line */
struct console_esc {
	int			 bol;		/* at the beginning of a line */
	int			 tilde;		/* "~" seen there, held back */
};

#define CONSOLE_SEND		0	/* send the bytes in out (maybe none) */
#define CONSOLE_HELP		1	/* "~?": print the help */
#define CONSOLE_EXIT		2	/* "~.": disconnect */

/* main.c */
int	 vmmaction(struct parse_result *);
void	 parse_free(struct parse_result *);

/* vmctl.c: the control socket */
extern int vmctl_verbose;
void	 vmctl_connect(const char *);
void	 vmctl_close(void);
int	 vmctl_simple(uint32_t, const void *, size_t);

/* vmctl.c: operations, each returns 0 or 1 (the exit status) */
int	 vm_start(struct parse_result *);
int	 vm_terminate(uint32_t, const char *, unsigned int);
int	 vm_send(uint32_t, const char *);
int	 vm_receive(const char *);
int	 vm_waitfor(uint32_t, const char *);
int	 vm_pause(uint32_t, const char *, int);
int	 vm_status(uint32_t, const char *, int);
int	 vm_stopall(unsigned int);
int	 vm_console(uint32_t, const char *);

/* vmctl.c: disk images */
int	 parse_disktype(const char *, const char **);
int	 create_imagefile(int, const char *, const char *, uint64_t,
	    const char **, char *, size_t);
const char *convert_imagefile(const char *, int, const char *, uint64_t,
	    const char **, uint64_t *, char *, size_t);

/* vmctl.c: vmctl status */
int	 vm_info_running(const struct vmop_info_result *);
const char *vm_info_tty(const struct vmop_info_result *);
void	 vm_info_owner(uid_t, int64_t, char *, size_t);
int	 vm_info_header(char *, size_t);
int	 vm_info_row(const struct vmop_info_result *, char *, size_t);
int	 vm_info_match(const struct vmop_info_result *, uint32_t,
	    const char *);
int	 print_vm_info(const struct vmop_info_result *, size_t, uint32_t,
	    const char *, int);

/* vmctl.c: the built-in console */
void	 console_esc_init(struct console_esc *);
int	 console_escape(struct console_esc *, unsigned char, unsigned char *,
	    size_t *);
int	 console_attach(const char *);

#endif /* VMCTL_H */
