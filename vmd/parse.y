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
 * vm.conf(5): macros, global settings, switches and VMs, with the
 * grammar, the messages and the line numbers of upstream's parse.y.
 * The result goes into a struct vmd_parsed; nothing is registered or
 * opened here, beyond a look at a disk's first bytes for its format and
 * at /sys for what a switch's interface is.  A check only (vmd -n) says
 * nothing of what it would register or skip, as upstream's says nothing.
 *
 * Every string the lexer hands to the grammar lives in a per-parse pool
 * that is freed when the parse ends, so strings that yacc drops during
 * error recovery cannot leak across reloads.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

#define VMD_LOCAL_PREFIX	"100.64.0.0/10"
#define VMD_STAGGER_DELAY	30		/* seconds */
#define VMD_RDOMAIN_MAX		255		/* RT_TABLEID_MAX */
#define VMD_AGENTX_CONTEXT_MAX	32
#define VMD_AGENTX_PATH_MAX	108		/* sun_path */
#define QCOW2_MAGIC		"QFI\xfb"

/* one file of the include stack */
struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	unsigned char		*ungetbuf;
	size_t			 ungetpos;
	size_t			 ungetsize;
	int			 eof_reached;
	int			 lineno;
	int			 errors;
};
TAILQ_HEAD(filelist, file);

/* a macro: from the file (dropped after the parse) or -D (persist) */
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
TAILQ_HEAD(symlist, sym);

/* a string of the lexer, freed with the whole pool */
struct poolstr {
	SLIST_ENTRY(poolstr)	 entry;
	char			 str[];
};
SLIST_HEAD(poolstrlist, poolstr);

/* the vm block being read */
struct vm_pending {
	struct vmop_create_params vmc;
	unsigned int		 nifs;		/* interface statements */
	unsigned int		 nifs_min;	/* "interfaces N" */
	int			 nifs_set;
	int			 disable;
	int			 bootdev_set;
	int			 owner_set;
	int			 instance;	/* vm "parent" instance "x" */
};

typedef struct {
	union {
		uint8_t			 lladdr[ETHER_ADDR_LEN];
		int64_t			 number;
		char			*string;
		struct vmop_owner	 owner;
	} v;
	int lineno;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED	1

static int	 yylex(void);
static int	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)))
		    __attribute__((__nonnull__ (1)));
#define YYLEX_IS_DECLARED	1
#define YYERROR_IS_DECLARED	1
int		 yyparse(void);

static struct file	*pushfile(const char *);
static int		 popfile(void);
static int		 kw_cmp(const void *, const void *);
static int		 lookup(const char *);
static int		 igetc(void);
static int		 lgetc(int);
static void		 lungetc(int);
static int		 findeol(void);

static int		 symset(const char *, const char *, int);
static char		*symget(const char *);

static char		*pool_str(const char *);
static char		*pool_cat(const char *, const char *);
static void		 pool_free(void);

static int		 ifname_valid(const char *);
static int		 tapname_valid(const char *);
static int		 ifname_notbridge(const char *);
static int		 group_valid(const char *);
static int		 path_absolute(const char *, char *, size_t);
static int		 prefix_parse(const char *, int, struct address *,
			    const char **);
static int		 owner_parse(char *, struct vmop_owner *);
static unsigned int	 disk_format(const char *);
static unsigned int	 format_parse(const char *);
static int		 disk_add(const char *, unsigned int);
static int		 image_set(char *, size_t, const char *, const char *);

static void		 switch_begin(const char *);
static int		 switch_end(void);
static void		 switch_discard(void);
static int		 vm_begin(const char *, const char *);
static int		 vm_iface_add(int, const char *);
static int		 vm_end(void);
static int		 vm_instance(struct vmop_create_params *);
static struct vmd_vm	*vm_find(const char *);
static void		 inet6_autoprefix(struct vmd_config *);

static struct filelist	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file	*curfile, *topfile;
static struct symlist	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
static struct poolstrlist pool = SLIST_HEAD_INITIALIZER(pool);
static int		 expanding;

static struct vmd_parsed *parsed;	/* where the parse goes */
static struct vm_pending pvm;
static struct vmd_switch *psw;		/* the switch block being read */
static int		 psw_disable;
static int		 inet6_prefix_set;
static int		 noaction;	/* vmd -n: check only */
%}

%token	INCLUDE ERROR
%token	ADD AGENTX ALLOW BOOT CDROM CMDLINE CONTEXT DELAY DEVICE DISABLE DISK
%token	DIRECT DOWN ENABLE FORMAT GROUP INET6 INITRD INSTANCE INTERFACE LLADDR LOCAL
%token	LOCKED MEMORY NET NIFS OWNER PARALLEL PATH PREFIX RDOMAIN SEV SEVES
%token	VCPUS
%token	SIZE SOCKET STAGGERED START SWITCH UP VM VMID
%token	<v.number>	NUMBER
%token	<v.string>	STRING
%type	<v.lladdr>	lladdr
%type	<v.number>	bootdevice
%type	<v.number>	disable
%type	<v.number>	image_format disk_direct
%type	<v.number>	local
%type	<v.number>	locked
%type	<v.number>	updown
%type	<v.owner>	owner_id
%type	<v.string>	optstring
%type	<v.string>	string
%type	<v.string>	vm_instance

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar switch '\n'
		| grammar vm '\n'
		| grammar error '\n'		{ curfile->errors++; }
		;

include		: INCLUDE string		{
			struct file	*nfile;

			if ((nfile = pushfile($2)) == NULL) {
				yyerror("failed to include file %s", $2);
				YYERROR;
			}
			curfile = nfile;
			/* the include line's newline was read already */
			lungetc('\n');
		}
		;

varset		: STRING '=' STRING		{
			const char	*s;

			for (s = $1; *s != '\0'; s++) {
				if (isspace((unsigned char)*s)) {
					yyerror("macro name cannot contain "
					    "whitespace");
					YYERROR;
				}
			}
			if (symset($1, $3, 0) == -1)
				fatal("cannot store variable");
		}
		;

main		: LOCAL INET6			{
			parsed->cfg.cfg_flags |= VMD_CFG_INET6;
		}
		| LOCAL INET6 PREFIX STRING	{
			const char	*errstr;

			if (prefix_parse($4, AF_INET6,
			    &parsed->cfg.cfg_localprefix6, &errstr) == -1) {
				yyerror("invalid local inet6 prefix: %s",
				    errstr);
				YYERROR;
			}
			parsed->cfg.cfg_flags |= VMD_CFG_INET6;
			parsed->cfg.cfg_flags &= ~VMD_CFG_AUTOINET6;
			inet6_prefix_set = 1;
		}
		| LOCAL PREFIX STRING		{
			const char	*errstr;

			if (prefix_parse($3, AF_INET,
			    &parsed->cfg.cfg_localprefix, &errstr) == -1) {
				yyerror("invalid local prefix: %s", errstr);
				YYERROR;
			}
		}
		| SOCKET OWNER owner_id		{
			parsed->cfg.cfg_sockuid = $3.uid;
			parsed->cfg.cfg_sockgid = $3.gid == -1 ? 0 :
			    (gid_t)$3.gid;
			parsed->cfg.cfg_sockowner_set = 1;
		}
		| AGENTX agentxopts		{
			/* no SNMP agent on Linux: accepted for old configs */
			if (!noaction)
				log_debug("%s:%d: agentx is not supported, "
				    "ignored", curfile->name, yylval.lineno);
		}
		| STAGGERED START PARALLEL NUMBER DELAY NUMBER {
			if ($4 < 1 || $4 > INT_MAX) {
				yyerror("invalid staggered start parallelism: "
				    "%lld", (long long)$4);
				YYERROR;
			}
			if ($6 < 0 || $6 > INT_MAX) {
				yyerror("invalid staggered start delay: %lld",
				    (long long)$6);
				YYERROR;
			}
			parsed->cfg.cfg_flags |= VMD_CFG_STAGGERED_START;
			parsed->cfg.delay.parallelism = (unsigned int)$4;
			parsed->cfg.delay.delay = (unsigned int)$6;
		}
		;

agentxopts	: /* none */
		| agentxopts agentxopt
		;

agentxopt	: CONTEXT STRING		{
			if (strlen($2) > VMD_AGENTX_CONTEXT_MAX) {
				yyerror("agentx context too large");
				YYERROR;
			}
		}
		| PATH STRING			{
			if (strlen($2) >= VMD_AGENTX_PATH_MAX) {
				yyerror("agentx path too large");
				YYERROR;
			}
			if ($2[0] != '/') {
				yyerror("agentx path is not absolute");
				YYERROR;
			}
		}
		;

switch		: SWITCH string			{
			switch_begin($2);
		} '{' optnl switch_opts_l '}'	{
			if (switch_end() == -1)
				YYERROR;
		}
		;

switch_opts_l	: switch_opts_l switch_opts nl
		| switch_opts optnl
		;

switch_opts	: disable			{
			psw_disable = $1;
		}
		| GROUP string			{
			if (!group_valid($2)) {
				yyerror("invalid group name: %s", $2);
				YYERROR;
			}
			free(psw->sw_group);
			if ((psw->sw_group = strdup($2)) == NULL)
				fatal("%s", __func__);
		}
		| INTERFACE string		{
			if (strlen($2) >= sizeof(psw->sw_ifname)) {
				yyerror("switch interface too long: %s", $2);
				YYERROR;
			}
			/* any bridge, or a name vmd makes one of */
			if (!ifname_valid($2) || ifname_notbridge($2)) {
				yyerror("invalid switch interface: %s", $2);
				YYERROR;
			}
			(void)strlcpy(psw->sw_ifname, $2,
			    sizeof(psw->sw_ifname));
		}
		| LOCKED LLADDR			{
			psw->sw_flags |= VMIFF_LOCKED;
		}
		| RDOMAIN NUMBER		{
			if ($2 < 0 || $2 > VMD_RDOMAIN_MAX) {
				yyerror("invalid rdomain: %lld",
				    (long long)$2);
				YYERROR;
			}
			psw->sw_flags |= VMIFF_RDOMAIN;
			psw->sw_rdomain = (unsigned int)$2;
		}
		| updown			{
			if ($1)
				psw->sw_flags |= VMIFF_UP;
			else
				psw->sw_flags &= ~VMIFF_UP;
		}
		;

vm		: VM string vm_instance		{
			if (vm_begin($2, $3) == -1)
				YYERROR;
		} '{' optnl vm_opts_l '}'	{
			if (vm_end() == -1)
				YYERROR;
		}
		;

vm_instance	: /* empty */			{ $$ = NULL; }
		| INSTANCE string		{ $$ = $2; }
		;

vm_opts_l	: vm_opts_l vm_opts nl
		| vm_opts optnl
		;

vm_opts		: disable			{
			pvm.disable = $1;
		}
		| SEV				{
			yyerror("sev is not supported on this host");
			YYERROR;
		}
		| SEVES				{
			yyerror("seves is not supported on this host");
			YYERROR;
		}
		| DISK string image_format disk_direct {
			if (disk_add($2, $3 | $4) == -1) {
				yyerror("failed to parse disks: %s", $2);
				YYERROR;
			}
			pvm.vmc.vmc_flags |= VMOP_CREATE_DISK;
		}
		| local INTERFACE optstring iface_opts_o {
			if (vm_iface_add($1, $3) == -1)
				YYERROR;
		}
		| BOOT string			{
			if (pvm.vmc.vmc_flags & VMOP_CREATE_KERNEL) {
				yyerror("kernel specified more than once");
				YYERROR;
			}
			if (image_set(pvm.vmc.vmc_kernel,
			    sizeof(pvm.vmc.vmc_kernel), $2, "kernel") == -1)
				YYERROR;
			pvm.vmc.vmc_flags |= VMOP_CREATE_KERNEL;
		}
		| BOOT DEVICE bootdevice	{
			pvm.vmc.vmc_bootdevice = (unsigned int)$3;
			pvm.bootdev_set = 1;
		}
		| INITRD string			{
			if (pvm.vmc.vmc_flags & VMOP_CREATE_INITRD) {
				yyerror("initrd specified more than once");
				YYERROR;
			}
			if (image_set(pvm.vmc.vmc_initrd,
			    sizeof(pvm.vmc.vmc_initrd), $2, "initrd") == -1)
				YYERROR;
			pvm.vmc.vmc_flags |= VMOP_CREATE_INITRD;
		}
		| CMDLINE string		{
			if (pvm.vmc.vmc_flags & VMOP_CREATE_CMDLINE) {
				yyerror("cmdline specified more than once");
				YYERROR;
			}
			if (strlcpy(pvm.vmc.vmc_cmdline, $2,
			    sizeof(pvm.vmc.vmc_cmdline)) >=
			    sizeof(pvm.vmc.vmc_cmdline)) {
				yyerror("cmdline too long");
				YYERROR;
			}
			pvm.vmc.vmc_flags |= VMOP_CREATE_CMDLINE;
		}
		| CDROM string			{
			if (pvm.vmc.vmc_cdrom[0] != '\0') {
				yyerror("cdrom specified more than once");
				YYERROR;
			}
			if (path_absolute($2, pvm.vmc.vmc_cdrom,
			    sizeof(pvm.vmc.vmc_cdrom)) == -1) {
				yyerror("cdrom name too long");
				YYERROR;
			}
			pvm.vmc.vmc_flags |= VMOP_CREATE_CDROM;
		}
		| NIFS NUMBER			{
			if (pvm.nifs_set) {
				yyerror("interfaces specified more than once");
				YYERROR;
			}
			if ($2 < 0 || $2 > VM_MAX_NICS_PER_VM) {
				yyerror("too many interfaces: %lld",
				    (long long)$2);
				YYERROR;
			}
			pvm.nifs_min = (unsigned int)$2;
			pvm.nifs_set = 1;
			pvm.vmc.vmc_flags |= VMOP_CREATE_NETWORK;
		}
		| MEMORY NUMBER			{
			uint64_t	 size;

			if (pvm.vmc.vmc_flags & VMOP_CREATE_MEMORY) {
				yyerror("memory specified more than once");
				YYERROR;
			}
			if (vm_size_parse(NULL, $2, "memory",
			    VMM_MAX_VM_MEM_SIZE, &size, log_warnx) == -1) {
				yyerror("failed to parse size: %lld",
				    (long long)$2);
				YYERROR;
			}
			pvm.vmc.vmc_params.vcp_memory_size = size;
			pvm.vmc.vmc_flags |= VMOP_CREATE_MEMORY;
		}
		| MEMORY STRING			{
			uint64_t	 size;

			/* upstream's words for this form */
			if (pvm.vmc.vmc_flags & VMOP_CREATE_MEMORY) {
				yyerror("argument specified more than once");
				YYERROR;
			}
			if (vm_size_parse($2, 0, "memory",
			    VMM_MAX_VM_MEM_SIZE, &size, log_warnx) == -1) {
				yyerror("failed to parse size: %s", $2);
				YYERROR;
			}
			pvm.vmc.vmc_params.vcp_memory_size = size;
			pvm.vmc.vmc_flags |= VMOP_CREATE_MEMORY;
		}
		| VCPUS NUMBER			{
			if (pvm.vmc.vmc_flags & VMOP_CREATE_CPU) {
				yyerror("vcpus specified more than once");
				YYERROR;
			}
			if ($2 < 1 || $2 > VMM_MAX_VCPUS_PER_VM) {
				yyerror("invalid number of vcpus: %lld "
				    "(1 to %d)", (long long)$2,
				    VMM_MAX_VCPUS_PER_VM);
				YYERROR;
			}
			pvm.vmc.vmc_params.vcp_ncpus = (size_t)$2;
			pvm.vmc.vmc_flags |= VMOP_CREATE_CPU;
		}
		| OWNER owner_id		{
			pvm.vmc.vmc_owner = $2;
			pvm.owner_set = 1;
		}
		| instance
		;

instance	: ALLOW INSTANCE '{' optnl instance_l '}'
		| ALLOW INSTANCE instance_flags
		;

instance_l	: instance_flags optcommanl instance_l
		| instance_flags optnl
		;

instance_flags	: BOOT		{ pvm.vmc.vmc_insflags |= VMOP_CREATE_KERNEL; }
		| INITRD	{ pvm.vmc.vmc_insflags |= VMOP_CREATE_INITRD; }
		| CMDLINE	{ pvm.vmc.vmc_insflags |= VMOP_CREATE_CMDLINE; }
		| MEMORY	{ pvm.vmc.vmc_insflags |= VMOP_CREATE_MEMORY; }
		| VCPUS		{ pvm.vmc.vmc_insflags |= VMOP_CREATE_CPU; }
		| INTERFACE	{ pvm.vmc.vmc_insflags |= VMOP_CREATE_NETWORK; }
		| DISK		{ pvm.vmc.vmc_insflags |= VMOP_CREATE_DISK; }
		| CDROM		{ pvm.vmc.vmc_insflags |= VMOP_CREATE_CDROM; }
		| INSTANCE	{ pvm.vmc.vmc_insflags |= VMOP_CREATE_INSTANCE; }
		| OWNER owner_id {
			pvm.vmc.vmc_insowner = $2;
		}
		;

owner_id	: NUMBER			{
			if ($1 < 0 || $1 >= UINT32_MAX) {
				yyerror("invalid owner id: %lld",
				    (long long)$1);
				YYERROR;
			}
			$$.uid = (uid_t)$1;
			$$.gid = -1;
		}
		| STRING			{
			if (owner_parse($1, &$$) == -1)
				YYERROR;
		}
		;

disk_direct	: /* none */			{ $$ = 0; }
		| DIRECT			{ $$ = VMDF_DIRECT; }
		;

image_format	: /* none */			{ $$ = 0; }
		| FORMAT string			{
			if (($$ = format_parse($2)) == 0) {
				yyerror("unrecognized disk format %s", $2);
				YYERROR;
			}
		}
		;

iface_opts_o	: '{' optnl iface_opts_l '}'
		| iface_opts_c
		| /* empty */
		;

iface_opts_l	: iface_opts_l iface_opts optnl
		| iface_opts optnl
		;

iface_opts_c	: iface_opts_c iface_opts optcomma
		| iface_opts optcomma
		;

/*
 * The options of an interface come before the statement that counts it:
 * they go to the next free slot, pvm.nifs.  Past the last slot they are
 * dropped; the interface statement then reports "too many interfaces".
 */
iface_opts	: SWITCH string			{
			if (strlen($2) >= VMM_MAX_NAME_LEN) {
				yyerror("switch name too long: %s", $2);
				YYERROR;
			}
			if (pvm.nifs < VM_MAX_NICS_PER_VM)
				(void)strlcpy(pvm.vmc.vmc_ifswitch[pvm.nifs],
				    $2, sizeof(pvm.vmc.vmc_ifswitch[0]));
		}
		| GROUP string			{
			if (!group_valid($2)) {
				yyerror("invalid group name: %s", $2);
				YYERROR;
			}
			if (pvm.nifs < VM_MAX_NICS_PER_VM)
				(void)strlcpy(pvm.vmc.vmc_ifgroup[pvm.nifs],
				    $2, sizeof(pvm.vmc.vmc_ifgroup[0]));
		}
		| locked LLADDR lladdr		{
			if (pvm.nifs < VM_MAX_NICS_PER_VM) {
				if ($1)
					pvm.vmc.vmc_ifflags[pvm.nifs] |=
					    VMIFF_LOCKED;
				memcpy(pvm.vmc.vmc_macs[pvm.nifs], $3,
				    ETHER_ADDR_LEN);
			}
		}
		| RDOMAIN NUMBER		{
			if ($2 < 0 || $2 > VMD_RDOMAIN_MAX) {
				yyerror("invalid rdomain: %lld",
				    (long long)$2);
				YYERROR;
			}
			if (pvm.nifs < VM_MAX_NICS_PER_VM) {
				pvm.vmc.vmc_ifflags[pvm.nifs] |= VMIFF_RDOMAIN;
				pvm.vmc.vmc_ifrdomain[pvm.nifs] =
				    (unsigned int)$2;
			}
		}
		| updown			{
			if (pvm.nifs < VM_MAX_NICS_PER_VM) {
				if ($1)
					pvm.vmc.vmc_ifflags[pvm.nifs] |=
					    VMIFF_UP;
				else
					pvm.vmc.vmc_ifflags[pvm.nifs] &=
					    ~VMIFF_UP;
			}
		}
		;

optstring	: STRING			{ $$ = $1; }
		| /* empty */			{ $$ = NULL; }
		;

string		: string STRING			{ $$ = pool_cat($1, $2); }
		| STRING
		;

lladdr		: STRING			{
			struct ether_addr	*ea;

			if ((ea = ether_aton($1)) == NULL) {
				yyerror("invalid address: %s", $1);
				YYERROR;
			}
			memcpy($$, ea, ETHER_ADDR_LEN);
		}
		| /* empty */			{
			memset($$, 0, ETHER_ADDR_LEN);
		}
		;

local		: /* empty */			{ $$ = 0; }
		| LOCAL				{ $$ = 1; }
		;

locked		: /* empty */			{ $$ = 0; }
		| LOCKED			{ $$ = 1; }
		;

updown		: UP				{ $$ = 1; }
		| DOWN				{ $$ = 0; }
		;

disable		: ENABLE			{ $$ = 0; }
		| DISABLE			{ $$ = 1; }
		;

bootdevice	: CDROM				{ $$ = VMBOOTDEV_CDROM; }
		| DISK				{ $$ = VMBOOTDEV_DISK; }
		| NET				{ $$ = VMBOOTDEV_NET; }
		;

optcomma	: ','
		| /* empty */
		;

optnl		: '\n' optnl
		| /* empty */
		;

optcommanl	: ',' optnl
		| nl
		;

nl		: '\n' optnl
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

static int
yyerror(const char *fmt, ...)
{
	va_list	 ap, ap2;
	char	*msg;
	int	 len;

	curfile->errors++;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	if ((len = vsnprintf(NULL, 0, fmt, ap)) < 0 ||
	    (msg = malloc((size_t)len + 1)) == NULL)
		fatal("%s", __func__);
	(void)vsnprintf(msg, (size_t)len + 1, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	log_warnx("%s:%d: %s", curfile->name, yylval.lineno, msg);
	free(msg);
	return (0);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keywords *)e)->k_name));
}

static int
lookup(const char *s)
{
	/* sorted, for bsearch */
	static const struct keywords keywords[] = {
		{ "add",		ADD },
		{ "agentx",		AGENTX },
		{ "allow",		ALLOW },
		{ "boot",		BOOT },
		{ "cdrom",		CDROM },
		{ "cmdline",		CMDLINE },
		{ "context",		CONTEXT },
		{ "delay",		DELAY },
		{ "device",		DEVICE },
		{ "direct",		DIRECT },
		{ "disable",		DISABLE },
		{ "disk",		DISK },
		{ "down",		DOWN },
		{ "enable",		ENABLE },
		{ "format",		FORMAT },
		{ "group",		GROUP },
		{ "id",			VMID },
		{ "include",		INCLUDE },
		{ "inet6",		INET6 },
		{ "initrd",		INITRD },
		{ "instance",		INSTANCE },
		{ "interface",		INTERFACE },
		{ "interfaces",		NIFS },
		{ "lladdr",		LLADDR },
		{ "local",		LOCAL },
		{ "locked",		LOCKED },
		{ "memory",		MEMORY },
		{ "net",		NET },
		{ "owner",		OWNER },
		{ "parallel",		PARALLEL },
		{ "path",		PATH },
		{ "prefix",		PREFIX },
		{ "rdomain",		RDOMAIN },
		{ "sev",		SEV },
		{ "seves",		SEVES },
		{ "size",		SIZE },
		{ "socket",		SOCKET },
		{ "staggered",		STAGGERED },
		{ "start",		START },
		{ "switch",		SWITCH },
		{ "up",			UP },
		{ "vcpus",		VCPUS },
		{ "vm",			VM }
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, nitems(keywords), sizeof(keywords[0]),
	    kw_cmp);
	return (p != NULL ? p->k_val : STRING);
}

/*
 * A macro's value is pushed back into the input between these two
 * markers, so that it is not expanded again while it is read.
 */
#define START_EXPAND	1
#define DONE_EXPAND	2

static int
igetc(void)
{
	int	 c;

	for (;;) {
		if (curfile->ungetpos > 0)
			c = curfile->ungetbuf[--curfile->ungetpos];
		else
			c = getc(curfile->stream);

		if (c == START_EXPAND)
			expanding = 1;
		else if (c == DONE_EXPAND)
			expanding = 0;
		else
			return (c);
	}
}

static int
lgetc(int quotec)
{
	int	 c, next;

	if (quotec) {
		if ((c = igetc()) == EOF) {
			yyerror("reached end of file while parsing "
			    "quoted string");
			if (curfile == topfile || popfile() == EOF)
				return (EOF);
			return (quotec);
		}
		return (c);
	}

	/* backslash-newline continues a line; backslash escapes a char */
	while ((c = igetc()) == '\\') {
		next = igetc();
		if (next != '\n') {
			c = next;
			break;
		}
		yylval.lineno = curfile->lineno;
		curfile->lineno++;
	}

	if (c == EOF) {
		/*
		 * The first EOF of a file reads as a newline, so that a last
		 * line without one still ends its statement.
		 */
		if (!curfile->eof_reached) {
			curfile->eof_reached = 1;
			return ('\n');
		}
		while (c == EOF) {
			if (curfile == topfile || popfile() == EOF)
				return (EOF);
			c = igetc();
		}
	}
	return (c);
}

static void
lungetc(int c)
{
	unsigned char	*p;

	if (c == EOF)
		return;
	if (curfile->ungetpos >= curfile->ungetsize) {
		p = reallocarray(curfile->ungetbuf, curfile->ungetsize, 2);
		if (p == NULL)
			fatal("%s", __func__);
		curfile->ungetbuf = p;
		curfile->ungetsize *= 2;
	}
	curfile->ungetbuf[curfile->ungetpos++] = (unsigned char)c;
}

/* skip the rest of a bad line; the newline stays for error recovery */
static int
findeol(void)
{
	int	 c;

	for (;;) {
		c = lgetc(0);
		if (c == '\n') {
			lungetc(c);
			break;
		}
		if (c == EOF)
			break;
	}
	return (ERROR);
}

static int
number_end(int c)
{
	return (isspace(c) || c == ')' || c == ',' || c == '/' || c == '}' ||
	    c == '=');
}

static int
word_char(int c)
{
	if (isalnum(c))
		return (1);
	if (!ispunct(c))
		return (0);
	return (strchr("(){}!=#,", c) == NULL);
}

static int
yylex(void)
{
	char		 buf[8096];
	char		*p, *val;
	const char	*errstr;
	int		 quotec, next, c, token;

 top:
	p = buf;
	while ((c = lgetc(0)) == ' ' || c == '\t')
		;	/* nothing */

	yylval.lineno = curfile->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			;	/* nothing */

	if (c == '$' && !expanding) {
		for (;;) {
			if ((c = lgetc(0)) == EOF)
				return (0);
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("string too long");
				return (findeol());
			}
			if (isalnum(c) || c == '_') {
				*p++ = (char)c;
				continue;
			}
			*p = '\0';
			lungetc(c);
			break;
		}
		if ((val = symget(buf)) == NULL) {
			yyerror("macro '%s' not defined", buf);
			return (findeol());
		}
		lungetc(DONE_EXPAND);
		for (p = val + strlen(val); p > val; )
			lungetc((unsigned char)*--p);
		lungetc(START_EXPAND);
		goto top;
	}

	switch (c) {
	case '\'':
	case '"':
		quotec = c;
		for (;;) {
			if ((c = lgetc(quotec)) == EOF)
				return (0);
			if (c == '\n') {
				curfile->lineno++;
				continue;
			} else if (c == '\\') {
				if ((next = lgetc(quotec)) == EOF)
					return (0);
				if (next == quotec || next == ' ' ||
				    next == '\t')
					c = next;
				else if (next == '\n') {
					curfile->lineno++;
					continue;
				} else
					lungetc(next);
			} else if (c == quotec) {
				*p = '\0';
				break;
			} else if (c == '\0') {
				yyerror("syntax error");
				return (findeol());
			}
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("string too long");
				return (findeol());
			}
			*p++ = (char)c;
		}
		yylval.v.string = pool_str(buf);
		return (STRING);
	}

	if (c == '-' || isdigit(c)) {
		do {
			*p++ = (char)c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return (findeol());
			}
		} while ((c = lgetc(0)) != EOF && isdigit(c));
		lungetc(c);
		if (p == buf + 1 && buf[0] == '-')
			goto nodigits;
		if (c == EOF || number_end(c)) {
			*p = '\0';
			yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX,
			    &errstr);
			if (errstr != NULL) {
				yyerror("\"%s\" invalid number: %s", buf,
				    errstr);
				return (findeol());
			}
			return (NUMBER);
		}
 nodigits:
		/* not a number after all: read it again as a word */
		while (p > buf + 1)
			lungetc((unsigned char)*--p);
		c = (unsigned char)*--p;
		if (c == '-')
			return (c);
	}

	if (isalnum(c) || c == ':' || c == '_' || c == '/') {
		do {
			*p++ = (char)c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return (findeol());
			}
		} while ((c = lgetc(0)) != EOF && word_char(c));
		lungetc(c);
		*p = '\0';
		if ((token = lookup(buf)) == STRING)
			yylval.v.string = pool_str(buf);
		return (token);
	}

	if (c == '\n') {
		yylval.lineno = curfile->lineno;
		curfile->lineno++;
	}
	if (c == EOF)
		return (0);
	return (c);
}

static struct file *
pushfile(const char *name)
{
	struct file	*nfile;
	int		 saved_errno;

	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		return (NULL);
	if ((nfile->name = strdup(name)) == NULL)
		goto fail;
	if ((nfile->stream = fopen(nfile->name, "re")) == NULL)
		goto fail;
	/* an included file starts with the newline its include pushes */
	nfile->lineno = TAILQ_EMPTY(&files) ? 1 : 0;
	nfile->ungetsize = 16;
	if ((nfile->ungetbuf = malloc(nfile->ungetsize)) == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return (nfile);

 fail:
	saved_errno = errno;
	if (nfile->stream != NULL)
		fclose(nfile->stream);
	free(nfile->name);
	free(nfile);
	errno = saved_errno;
	return (NULL);
}

static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(curfile, filelist, entry)) != NULL)
		prev->errors += curfile->errors;

	TAILQ_REMOVE(&files, curfile, entry);
	fclose(curfile->stream);
	free(curfile->name);
	free(curfile->ungetbuf);
	free(curfile);
	curfile = prev;
	return (curfile != NULL ? 0 : EOF);
}

void
parsed_init(struct vmd_parsed *p)
{
	long	 ncpus;

	memset(p, 0, sizeof(*p));
	TAILQ_INIT(&p->vms);
	TAILQ_INIT(&p->switches);

	if (prefix_parse(VMD_LOCAL_PREFIX, AF_INET,
	    &p->cfg.cfg_localprefix, NULL) == -1)
		fatalx("%s: bad default local prefix", __func__);

	/* staggered start defaults: a batch per online CPU, 30s apart */
	if ((ncpus = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		ncpus = 1;
	p->cfg.delay.parallelism = (unsigned int)MINIMUM(ncpus, INT_MAX);
	p->cfg.delay.delay = VMD_STAGGER_DELAY;
}

void
parsed_clear(struct vmd_parsed *p)
{
	struct vmd_vm		*vm;
	struct vmd_switch	*sw;

	while ((vm = TAILQ_FIRST(&p->vms)) != NULL) {
		TAILQ_REMOVE(&p->vms, vm, vm_entry);
		free(vm);
	}
	while ((sw = TAILQ_FIRST(&p->switches)) != NULL) {
		TAILQ_REMOVE(&p->switches, sw, sw_entry);
		free(sw->sw_name);
		free(sw->sw_group);
		free(sw);
	}
}

int
parse_config(struct vmd_parsed *p, const char *filename, int flags)
{
	struct sym	*sym, *next;
	int		 errors;

	/* flags: nonzero for vmd -n */
	noaction = flags != 0;
	if ((curfile = pushfile(filename)) == NULL) {
		/* no default configuration file is fine */
		if (errno == ENOENT && strcmp(filename, VMD_CONF) == 0) {
			log_debug("%s: missing", filename);
			return (0);
		}
		log_warn("failed to open %s", filename);
		return (-1);
	}
	topfile = curfile;
	parsed = p;
	expanding = 0;
	inet6_prefix_set = 0;

	(void)yyparse();

	/* an aborted parse may leave included files open */
	while (curfile != topfile)
		popfile();
	errors = curfile->errors;
	popfile();
	topfile = NULL;

	switch_discard();
	pool_free();

	if (errors == 0)
		inet6_autoprefix(&p->cfg);
	parsed = NULL;

	/* drop the file's macros; warn about the unused ones */
	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if (!sym->used)
			log_warnx("warning: macro '%s' not used", sym->nam);
		if (!sym->persist) {
			TAILQ_REMOVE(&symhead, sym, entry);
			free(sym->nam);
			free(sym->val);
			free(sym);
		}
	}

	return (errors ? -1 : 0);
}

static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0)
			break;
	}
	if (sym != NULL) {
		/* -D wins over the file */
		if (sym->persist)
			return (0);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->nam);
		free(sym->val);
		free(sym);
	}

	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);
	if ((sym->nam = strdup(nam)) == NULL) {
		free(sym);
		return (-1);
	}
	if ((sym->val = strdup(val)) == NULL) {
		free(sym->nam);
		free(sym);
		return (-1);
	}
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

int
cmdline_symset(char *s)
{
	char	*sym, *val;
	int	 ret;

	if ((val = strchr(s, '=')) == NULL || val == s)
		return (-1);
	if ((sym = strndup(s, val - s)) == NULL)
		fatal("%s: strndup", __func__);
	ret = symset(sym, val + 1, 1);
	free(sym);
	return (ret);
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return (sym->val);
		}
	}
	return (NULL);
}

static char *
pool_str(const char *s)
{
	struct poolstr	*ps;
	size_t		 len;

	len = strlen(s) + 1;
	if ((ps = malloc(sizeof(*ps) + len)) == NULL)
		fatal("%s", __func__);
	memcpy(ps->str, s, len);
	SLIST_INSERT_HEAD(&pool, ps, entry);
	return (ps->str);
}

static char *
pool_cat(const char *a, const char *b)
{
	struct poolstr	*ps;
	size_t		 alen, blen;

	alen = strlen(a);
	blen = strlen(b) + 1;
	if ((ps = malloc(sizeof(*ps) + alen + blen)) == NULL)
		fatal("%s", __func__);
	memcpy(ps->str, a, alen);
	memcpy(ps->str + alen, b, blen);
	SLIST_INSERT_HEAD(&pool, ps, entry);
	return (ps->str);
}

static void
pool_free(void)
{
	struct poolstr	*ps;

	while ((ps = SLIST_FIRST(&pool)) != NULL) {
		SLIST_REMOVE_HEAD(&pool, entry);
		free(ps);
	}
}

/* what Linux takes as a network interface name */
static int
ifname_valid(const char *name)
{
	const char	*p;

	if (*name == '\0' || strlen(name) >= IF_NAMESIZE)
		return (0);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' ||
		    isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return (0);
	}
	return (1);
}

/* upstream's tap names: "tap" and a unit number */
static int
tapname_valid(const char *name)
{
	const char	*p, *errstr;

	if (strncmp(name, "tap", 3) != 0 || name[3] == '\0')
		return (0);
	for (p = name + 3; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return (0);
	(void)strtonum(name + 3, 0, UINT_MAX, &errstr);
	return (errstr == NULL);
}

/* Whether name is an interface of this host that is not a bridge. */
static int
ifname_notbridge(const char *name)
{
	char		 path[PATH_MAX];
	struct stat	 st;

	(void)snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	if (stat(path, &st) == -1)
		return (0);
	(void)snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return (stat(path, &st) == -1);
}

/* an interface group: a short name that does not end in a digit */
static int
group_valid(const char *name)
{
	size_t	 len;

	len = strlen(name);
	if (len == 0 || len >= IF_NAMESIZE)
		return (0);
	if (isdigit((unsigned char)name[len - 1]))
		return (0);
	return (1);
}

/* a path made absolute against the current directory, not resolved */
static int
path_absolute(const char *path, char *out, size_t outlen)
{
	char	 cwd[PATH_MAX];
	int	 n;

	if (path[0] == '/' || path[0] == '\0') {
		if (strlcpy(out, path, outlen) >= outlen)
			return (-1);
		return (0);
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return (-1);
	n = snprintf(out, outlen, "%s%s%s", cwd,
	    strcmp(cwd, "/") == 0 ? "" : "/", path);
	if (n < 0 || (size_t)n >= outlen)
		return (-1);
	return (0);
}

/*
 * A local prefix, as upstream takes it: IPv4 with a length of 1 to 16
 * (16 when none is given; vmd numbers VMs and interfaces in the low 16
 * bits), IPv6 with a length of at most 64 (default 64); no host bits.
 */
static int
prefix_parse(const char *str, int af, struct address *out,
    const char **errstr)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct in_addr		 in;
	struct in6_addr		 in6;
	const char		*err = NULL;
	char			*s, *slash;
	int			 len, i, bits;

	if ((s = strdup(str)) == NULL)
		fatal("%s", __func__);
	len = af == AF_INET ? 16 : 64;
	if ((slash = strrchr(s, '/')) != NULL) {
		*slash++ = '\0';
		len = (int)strtonum(slash, af == AF_INET ? 1 : 0,
		    af == AF_INET ? 16 : 64, &err);
		if (err != NULL)
			goto fail;
	}

	memset(out, 0, sizeof(*out));
	memset(&in, 0, sizeof(in));
	if (af == AF_INET) {
		if (inet_pton(AF_INET, s, &in) != 1 &&
		    inet_net_pton(AF_INET, s, &in, sizeof(in)) == -1) {
			err = "invalid format";
			goto fail;
		}
		if (len < 32 && (ntohl(in.s_addr) &
		    (0xffffffffU >> len)) != 0) {
			err = "bad mask";
			goto fail;
		}
		sin = (struct sockaddr_in *)&out->ss;
		sin->sin_family = AF_INET;
		sin->sin_addr = in;
	} else {
		if (inet_pton(AF_INET6, s, &in6) != 1) {
			err = "invalid format";
			goto fail;
		}
		for (i = 0; i < 16; i++) {
			bits = len - i * 8;
			if (bits >= 8)
				continue;
			if (bits <= 0 ? in6.s6_addr[i] != 0 :
			    (in6.s6_addr[i] & (0xff >> bits)) != 0) {
				err = "bad mask";
				goto fail;
			}
		}
		sin6 = (struct sockaddr_in6 *)&out->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6;
	}
	out->prefixlen = len;
	free(s);
	return (0);

 fail:
	free(s);
	if (errstr != NULL)
		*errstr = err;
	return (-1);
}

/* "local inet6" without a prefix: a random ULA /64, fdXX:XXXX:XXXX:XXXX:: */
static void
inet6_autoprefix(struct vmd_config *cfg)
{
	struct sockaddr_in6	*sin6;

	if ((cfg->cfg_flags & VMD_CFG_INET6) == 0 || inet6_prefix_set)
		return;
	memset(&cfg->cfg_localprefix6, 0, sizeof(cfg->cfg_localprefix6));
	sin6 = (struct sockaddr_in6 *)&cfg->cfg_localprefix6.ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr.s6_addr[0] = 0xfd;
	arc4random_buf(&sin6->sin6_addr.s6_addr[1], 7);
	cfg->cfg_localprefix6.prefixlen = 64;
	cfg->cfg_flags |= VMD_CFG_AUTOINET6;
}

/* user[:group], :group: upstream's owner syntax */
static int
owner_parse(char *s, struct vmop_owner *owner)
{
	struct passwd	*pw;
	struct group	*gr;
	char		*user, *group;

	owner->uid = 0;
	owner->gid = -1;

	user = s;
	if ((group = strchr(s, ':')) != NULL)
		*group++ = '\0';

	if (*user != '\0') {
		if ((pw = getpwnam(user)) == NULL) {
			yyerror("failed to get user: %s", user);
			return (-1);
		}
		owner->uid = pw->pw_uid;
	}
	if (group != NULL && *group != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			yyerror("failed to get group: %s", group);
			return (-1);
		}
		owner->gid = gr->gr_gid;
	}
	return (0);
}

static unsigned int
format_parse(const char *word)
{
	if (strcasecmp(word, "raw") == 0)
		return (VMDF_RAW);
	if (strcasecmp(word, "qcow2") == 0)
		return (VMDF_QCOW2);
	return (0);
}

/* qcow2 when the image starts with its magic, raw otherwise */
static unsigned int
disk_format(const char *path)
{
	struct stat	 st;
	char		 buf[sizeof(QCOW2_MAGIC) - 1];
	unsigned int	 type = VMDF_RAW;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return (type);
	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) ||
	    S_ISBLK(st.st_mode)) &&
	    read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	    memcmp(buf, QCOW2_MAGIC, sizeof(buf)) == 0)
		type = VMDF_QCOW2;
	close(fd);
	return (type);
}

/*
 * A disk of the vm block: it must exist, as upstream's parser has it,
 * and is kept by its resolved path.
 */
static int
disk_add(const char *word, unsigned int type)
{
	struct vmop_create_params	*vmc = &pvm.vmc;
	char				 path[PATH_MAX];

	if (vmc->vmc_ndisks >= VM_MAX_DISKS_PER_VM) {
		log_warnx("too many disks");
		return (-1);
	}
	if (strlen(word) >= sizeof(vmc->vmc_disks[0])) {
		log_warnx("disk path too long");
		return (-1);
	}
	if (realpath(word, path) == NULL) {
		if (errno == ENAMETOOLONG)
			log_warnx("disk path too long");
		else
			log_warn("disk %s", word);
		return (-1);
	}
	if (VMDF_FORMAT(type) == 0)
		type |= disk_format(path);

	if (strlcpy(vmc->vmc_disks[vmc->vmc_ndisks], path,
	    sizeof(vmc->vmc_disks[0])) >= sizeof(vmc->vmc_disks[0])) {
		log_warnx("disk path too long");
		return (-1);
	}
	vmc->vmc_disktypes[vmc->vmc_ndisks] = type;
	vmc->vmc_ndisks++;
	return (0);
}

/* boot and initrd: an existing file, kept by its resolved path */
static int
image_set(char *dst, size_t dstlen, const char *arg, const char *what)
{
	char	 path[PATH_MAX];

	if (strlen(arg) >= dstlen) {
		yyerror("%s name too long", what);
		return (-1);
	}
	if (realpath(arg, path) == NULL) {
		if (errno == ENAMETOOLONG)
			yyerror("%s name too long", what);
		else
			yyerror("%s path not found: %s", what,
			    strerror(errno));
		return (-1);
	}
	if (strlcpy(dst, path, dstlen) >= dstlen) {
		yyerror("%s name too long", what);
		return (-1);
	}
	return (0);
}

static void
switch_discard(void)
{
	if (psw == NULL)
		return;
	free(psw->sw_name);
	free(psw->sw_group);
	free(psw);
	psw = NULL;
}

static void
switch_begin(const char *name)
{
	switch_discard();
	if ((psw = calloc(1, sizeof(*psw))) == NULL ||
	    (psw->sw_name = strdup(name)) == NULL)
		fatal("could not allocate switch");
	psw->sw_flags = VMIFF_UP;
	psw_disable = 0;
}

static int
switch_end(void)
{
	struct vmd_switch	*sw;
	uint32_t		 id = 0;

	if (psw->sw_ifname[0] == '\0') {
		yyerror("switch \"%s\" is missing interface name",
		    psw->sw_name);
		return (-1);
	}
	if (strlen(psw->sw_name) >= VMM_MAX_NAME_LEN) {
		yyerror("switch name too long: %s", psw->sw_name);
		return (-1);
	}
	if (psw_disable) {
		if (!noaction)
			log_debug("%s:%d: switch \"%s\" skipped (disabled)",
			    curfile->name, yylval.lineno, psw->sw_name);
		switch_discard();
		return (0);
	}
	TAILQ_FOREACH(sw, &parsed->switches, sw_entry) {
		if (strcmp(sw->sw_name, psw->sw_name) == 0) {
			if (!noaction)
				log_warnx("%s:%d: switch \"%s\" skipped "
				    "(already exists)", curfile->name,
				    yylval.lineno, psw->sw_name);
			switch_discard();
			return (0);
		}
		id = sw->sw_id;
	}
	psw->sw_id = id + 1;
	TAILQ_INSERT_TAIL(&parsed->switches, psw, sw_entry);
	if (!noaction)
		log_debug("%s:%d: switch \"%s\" registered", curfile->name,
		    yylval.lineno, psw->sw_name);
	psw = NULL;
	return (0);
}

static int
vm_begin(const char *name, const char *child)
{
	struct vmop_create_params	*vmc = &pvm.vmc;
	unsigned int			 i;

	memset(&pvm, 0, sizeof(pvm));
	vmc->vmc_params.vcp_ncpus = 1;
	vmc->vmc_owner.uid = 0;
	vmc->vmc_owner.gid = -1;
	vmc->vmc_insowner.uid = 0;
	vmc->vmc_insowner.gid = -1;
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++)
		vmc->vmc_ifflags[i] = VMIFF_UP;

	if (child != NULL) {
		/* vm "parent" instance "name" */
		if (strlcpy(vmc->vmc_instance, name,
		    sizeof(vmc->vmc_instance)) >= sizeof(vmc->vmc_instance)) {
			yyerror("vm %s name too long", name);
			return (-1);
		}
		pvm.instance = 1;
		name = child;
	}
	if (strlcpy(vmc->vmc_params.vcp_name, name,
	    sizeof(vmc->vmc_params.vcp_name)) >=
	    sizeof(vmc->vmc_params.vcp_name)) {
		yyerror("vm name too long");
		return (-1);
	}
	if (!vm_name_valid(name)) {
		yyerror("invalid VM name: \"%s\"", name);
		return (-1);
	}
	return (0);
}

static int
vm_iface_add(int local, const char *ifname)
{
	struct vmop_create_params	*vmc = &pvm.vmc;
	unsigned int			 i;

	i = pvm.nifs;
	if (++pvm.nifs > VM_MAX_NICS_PER_VM) {
		yyerror("too many interfaces: %u", pvm.nifs);
		return (-1);
	}
	if (local)
		vmc->vmc_ifflags[i] |= VMIFF_LOCAL;
	/* "tap" alone, as no name: any free tap */
	if (ifname != NULL && strcmp(ifname, "tap") != 0) {
		/* a tap and nothing else: vmd adopts no other interface */
		if (!tapname_valid(ifname)) {
			yyerror("invalid interface: %s", ifname);
			return (-1);
		}
		if (strlen(ifname) >= sizeof(vmc->vmc_ifnames[i])) {
			yyerror("interface name too long: %s", ifname);
			return (-1);
		}
		(void)strlcpy(vmc->vmc_ifnames[i], ifname,
		    sizeof(vmc->vmc_ifnames[i]));
	}
	vmc->vmc_flags |= VMOP_CREATE_NETWORK;
	return (0);
}

static struct vmd_vm *
vm_find(const char *name)
{
	struct vmd_vm	*vm;

	TAILQ_FOREACH(vm, &parsed->vms, vm_entry) {
		if (strcmp(vm->vm_params.vmc_params.vcp_name, name) == 0)
			return (vm);
	}
	return (NULL);
}

static int
vm_end(void)
{
	struct vmop_create_params	*vmc = &pvm.vmc;
	struct vmd_vm			*vm;
	const char			*name = vmc->vmc_params.vcp_name;

	vmc->vmc_nnics = MAXIMUM(pvm.nifs, pvm.nifs_min);

	if (vm_find(name) != NULL) {
		if (!noaction)
			log_warnx("%s:%d: vm \"%s\" skipped (already "
			    "exists)", curfile->name, yylval.lineno, name);
		return (0);
	}
	if (pvm.instance) {
		if (vm_instance(vmc) == -1)
			return (-1);
	} else if ((vmc->vmc_flags & VMOP_CREATE_MEMORY) == 0)
		vmc->vmc_params.vcp_memory_size = VM_DEFAULT_MEMORY;

	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		fatal("%s", __func__);
	memcpy(&vm->vm_params, vmc, sizeof(vm->vm_params));
	vm->vm_from_config = 1;
	vm->vm_state = pvm.disable ? VM_STATE_DISABLED : 0;
	vm->vm_kernel = -1;
	vm->vm_initrd = -1;
	vm->vm_tty = -1;
	vm->vm_tty_slave = -1;
	TAILQ_INSERT_TAIL(&parsed->vms, vm, vm_entry);
	if (!noaction)
		log_debug("%s:%d: vm \"%s\" registered (%s)", curfile->name,
		    yylval.lineno, name, pvm.disable ? "disabled" :
		    "enabled");
	return (0);
}

/*
 * vm "parent" instance "name": a copy of the parent with the options of
 * the block on top.  Disks are never inherited, and the instance may use
 * none of the parent's disks, fixed lladdrs or tap names.  The instance
 * permissions go over only when the parent allows instances of
 * instances.
 */
static int
vm_instance(struct vmop_create_params *vmc)
{
	struct vmd_vm			*pvmp;
	const struct vmop_create_params	*par;
	const char			*name = vmc->vmc_params.vcp_name;
	static const uint8_t		 zero_mac[ETHER_ADDR_LEN];
	unsigned int			 i, j;

	if ((pvmp = vm_find(vmc->vmc_instance)) == NULL) {
		yyerror("vm \"%s\" failed: parent vm \"%s\" not found",
		    name, vmc->vmc_instance);
		return (-1);
	}
	par = &pvmp->vm_params;

	if (vmc->vmc_insflags != 0) {
		yyerror("vm \"%s\" cannot change instance permissions", name);
		return (-1);
	}

	for (i = 0; i < vmc->vmc_ndisks; i++) {
		for (j = 0; j < par->vmc_ndisks; j++) {
			if (strcmp(vmc->vmc_disks[i],
			    par->vmc_disks[j]) == 0) {
				yyerror("vm \"%s\" disk %s cannot be reused",
				    name, vmc->vmc_disks[i]);
				return (-1);
			}
		}
	}

	/* the parent's interfaces past the instance's own ones */
	for (i = vmc->vmc_nnics; i < par->vmc_nnics; i++) {
		vmc->vmc_ifflags[i] = par->vmc_ifflags[i];
		memcpy(vmc->vmc_ifnames[i], par->vmc_ifnames[i],
		    sizeof(vmc->vmc_ifnames[i]));
		memcpy(vmc->vmc_ifswitch[i], par->vmc_ifswitch[i],
		    sizeof(vmc->vmc_ifswitch[i]));
		memcpy(vmc->vmc_ifgroup[i], par->vmc_ifgroup[i],
		    sizeof(vmc->vmc_ifgroup[i]));
		memcpy(vmc->vmc_macs[i], par->vmc_macs[i],
		    sizeof(vmc->vmc_macs[i]));
		vmc->vmc_ifrdomain[i] = par->vmc_ifrdomain[i];
	}
	vmc->vmc_nnics = MAXIMUM(vmc->vmc_nnics, par->vmc_nnics);
	for (i = 0; i < vmc->vmc_nnics; i++) {
		for (j = 0; j < par->vmc_nnics; j++) {
			if (memcmp(vmc->vmc_macs[i], zero_mac,
			    ETHER_ADDR_LEN) != 0 &&
			    memcmp(vmc->vmc_macs[i], par->vmc_macs[j],
			    ETHER_ADDR_LEN) == 0) {
				yyerror("vm \"%s\" lladdr cannot be reused",
				    name);
				return (-1);
			}
			if (vmc->vmc_ifnames[i][0] != '\0' &&
			    strcmp(vmc->vmc_ifnames[i],
			    par->vmc_ifnames[j]) == 0) {
				yyerror("vm \"%s\" interface %s cannot be "
				    "reused", name, vmc->vmc_ifnames[i]);
				return (-1);
			}
		}
	}

	if ((vmc->vmc_flags & VMOP_CREATE_MEMORY) == 0)
		vmc->vmc_params.vcp_memory_size =
		    par->vmc_params.vcp_memory_size;
	if ((vmc->vmc_flags & VMOP_CREATE_CPU) == 0)
		vmc->vmc_params.vcp_ncpus = par->vmc_params.vcp_ncpus;
	if ((vmc->vmc_flags & VMOP_CREATE_KERNEL) == 0)
		memcpy(vmc->vmc_kernel, par->vmc_kernel,
		    sizeof(vmc->vmc_kernel));
	if ((vmc->vmc_flags & VMOP_CREATE_INITRD) == 0)
		memcpy(vmc->vmc_initrd, par->vmc_initrd,
		    sizeof(vmc->vmc_initrd));
	if ((vmc->vmc_flags & VMOP_CREATE_CMDLINE) == 0)
		memcpy(vmc->vmc_cmdline, par->vmc_cmdline,
		    sizeof(vmc->vmc_cmdline));
	if ((vmc->vmc_flags & VMOP_CREATE_CDROM) == 0)
		memcpy(vmc->vmc_cdrom, par->vmc_cdrom,
		    sizeof(vmc->vmc_cdrom));
	if (!pvm.bootdev_set)
		vmc->vmc_bootdevice = par->vmc_bootdevice;
	if (!pvm.owner_set)
		vmc->vmc_owner = par->vmc_owner;

	if (par->vmc_insflags & VMOP_CREATE_INSTANCE) {
		vmc->vmc_insflags = par->vmc_insflags;
		vmc->vmc_insowner = par->vmc_insowner;
	}

	vmc->vmc_flags |= par->vmc_flags &
	    (VMOP_CREATE_CPU | VMOP_CREATE_KERNEL | VMOP_CREATE_MEMORY |
	    VMOP_CREATE_NETWORK | VMOP_CREATE_CDROM | VMOP_CREATE_INITRD |
	    VMOP_CREATE_CMDLINE);
	/* resolved here: what is left is an ordinary VM */
	vmc->vmc_flags &= ~VMOP_CREATE_INSTANCE;
	return (0);
}
