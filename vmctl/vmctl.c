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
 * vmctl(8): one synchronous request/response exchange with vmd per
 * operation, the status table, raw disk images and the built-in serial
 * console.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"
#include "vmctl.h"
#include "vmstate.h"

#define QCOW2_MAGIC	"QFI\xfb"

int			 vmctl_verbose = 1;

static struct imsgbuf	*ibuf;

static void	 vmctl_compose(uint32_t, int, const void *, size_t);
static void	 vmctl_flush(void);
static void	 vmctl_recv(struct imsg *);
static int	 vmctl_result(struct imsg *, struct vmop_result *);
static int	 terminate_complete(unsigned int);
static int	 get_info(struct vmop_info_result **, size_t *);
static int	 write_all(int, const void *, size_t);
static void	 console_reset(void);
static void	 console_signal(int);

/*
 * The control socket
 */

void
vmctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (ibuf != NULL)
		return;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		err(1, "connect: %s", path);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect: %s", path);

	if ((ibuf = malloc(sizeof(*ibuf))) == NULL)
		err(1, "malloc");
	if (imsgbuf_init(ibuf, fd) == -1)
		err(1, "imsgbuf_init");
	imsgbuf_allow_fdpass(ibuf);
	if (imsgbuf_set_maxsize(ibuf, VMD_IMSG_MAXSIZE) == -1)
		err(1, "imsgbuf_set_maxsize");
}

void
vmctl_close(void)
{
	if (ibuf == NULL)
		return;
	close(ibuf->fd);
	imsgbuf_clear(ibuf);
	free(ibuf);
	ibuf = NULL;
}

/* Every request carries the protocol version and our pid. */
static void
vmctl_compose(uint32_t type, int fd, const void *data, size_t len)
{
	if (vmctl_verbose > 1)
		warnx("request %u, %zu bytes%s", type, len,
		    fd == -1 ? "" : ", with a descriptor");
	if (imsg_compose(ibuf, type, VMD_PROTOCOL_VERSION, getpid(), fd,
	    data, len) == -1)
		err(1, "imsg_compose");
}

static void
vmctl_flush(void)
{
	if (imsgbuf_flush(ibuf) == -1)
		err(1, "write error");
}

/*
 * The next message from vmd.  IMSG_CTL_FAIL, with or without an errno,
 * ends vmctl here whatever the request was.
 */
static void
vmctl_recv(struct imsg *imsg)
{
	ssize_t	 n;
	int	 ret = 0;

	for (;;) {
		if ((n = imsg_get(ibuf, imsg)) == -1)
			errx(1, "imsg_get error");
		if (n > 0)
			break;
		if ((n = imsgbuf_read(ibuf)) == -1)
			err(1, "read error");
		if (n == 0)
			errx(1, "pipe closed");
	}
	if (vmctl_verbose > 1)
		warnx("response %u, %zu bytes", imsg_get_type(imsg),
		    imsg_get_len(imsg));

	if (imsg_get_type(imsg) != IMSG_CTL_FAIL)
		return;
	if (imsg_get_len(imsg) == sizeof(ret))
		(void)imsg_get_data(imsg, &ret, sizeof(ret));
	imsg_free(imsg);
	if (ret != 0) {
		errno = ret;
		err(1, "command failed");
	}
	errx(1, "command failed");
}

/*
 * A vmop_result; lookup failures may come back as a bare int, as in
 * upstream's vmd.
 */
static int
vmctl_result(struct imsg *imsg, struct vmop_result *vmr)
{
	int	 res;

	memset(vmr, 0, sizeof(*vmr));
	if (imsg_get_len(imsg) == sizeof(*vmr)) {
		if (imsg_get_data(imsg, vmr, sizeof(*vmr)) == -1)
			return (-1);
		vmr->vmr_ttyname[sizeof(vmr->vmr_ttyname) - 1] = '\0';
		return (0);
	}
	if (imsg_get_len(imsg) == sizeof(res)) {
		if (imsg_get_data(imsg, &res, sizeof(res)) == -1)
			return (-1);
		vmr->vmr_result = res;
		return (0);
	}
	return (-1);
}

/* Requests answered by IMSG_CTL_OK: load, reload, reset, log. */
int
vmctl_simple(uint32_t type, const void *data, size_t len)
{
	struct imsg	 imsg;
	int		 ret = 0;

	vmctl_compose(type, -1, data, len);
	vmctl_flush();
	vmctl_recv(&imsg);
	if (imsg_get_type(&imsg) != IMSG_CTL_OK) {
		warnx("unexpected response received from vmd");
		ret = 1;
	}
	imsg_free(&imsg);
	return (ret);
}

/*
 * start
 */

static int
open_image(const char *path, const char *what)
{
	struct stat	 sb;
	int		 fd;

	/* a FIFO would block here: refused below instead */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		err(1, "cannot open %s '%s'", what, path);
	if (fstat(fd, &sb) == -1)
		err(1, "fstat %s", what);
	if (!S_ISREG(sb.st_mode))
		errx(1, "%s must be a regular file", what);
	if (fcntl(fd, F_SETFL, 0) == -1)
		err(1, "fcntl %s", what);
	return (fd);
}

/*
 * The answer to a start or a receive: the VM's id and tty, or why not.
 * With autoconnect, its console.
 */
static int
start_complete(int autoconnect, const char *what)
{
	struct vmop_result	 vmr;
	struct imsg		 imsg;
	char			 tty[VM_TTYNAME_MAX];
	int			 ret;

	vmctl_recv(&imsg);
	if (imsg_get_type(&imsg) != IMSG_VMDOP_START_VM_RESPONSE ||
	    vmctl_result(&imsg, &vmr) == -1) {
		imsg_free(&imsg);
		warnx("unexpected response received from vmd");
		return (1);
	}
	imsg_free(&imsg);

	ret = 1;
	switch (vmr.vmr_result) {
	case 0:
		ret = 0;
		break;
	case VMD_BIOS_MISSING:
		warnx("vmm bios firmware file not found.");
		break;
	case VMD_DISK_MISSING:
		warnx("could not open disk image(s)");
		break;
	case VMD_DISK_INVALID:
		warnx("specified disk image(s) are not regular files");
		break;
	case VMD_DISK_LOCKED:
		warnx("disk image(s) in use by another vm");
		break;
	case VMD_DISK_CORRUPT:
		warnx("disk image(s) corrupt or of an unsupported format "
		    "(see vmd's log)");
		break;
	case VMD_CDROM_MISSING:
		warnx("could not find specified iso image");
		break;
	case VMD_CDROM_INVALID:
		warnx("specified iso image is not a regular file");
		break;
	case VMD_PARENT_INVALID:
		warnx("invalid template");
		break;
	case VMD_SWITCH_MISSING:
		warnx("could not find specified switch");
		break;
	case VMD_TAP_FAILED:
		warnx("could not open a tap interface (see vmd's log)");
		break;
	case VMD_CPU_INVALID:
		warnx("more vcpus than this host's KVM allows (see vmd's log)");
		break;
	case VMD_RECV_FORMAT:
		warnx("not a VM stream of this vmd, or of another version "
		    "(see vmd's log)");
		break;
	case VMD_RECV_TRUNCATED:
		warnx("the VM stream is truncated (see vmd's log)");
		break;
	case VMD_RECV_CORRUPT:
		warnx("the VM stream is corrupt (see vmd's log)");
		break;
	case VMD_RECV_CPU:
		warnx("this host cannot give the VM the CPU it had "
		    "(see vmd's log)");
		break;
	default:
		errno = vmr.vmr_result;
		warn("%s vm command failed", what);
		break;
	}
	if (ret != 0)
		return (ret);

	if (autoconnect) {
		(void)strlcpy(tty, vmr.vmr_ttyname, sizeof(tty));
		vmctl_close();
		return (console_attach(tty));
	}
	warnx("started vm %d successfully, tty %s", vmr.vmr_id,
	    vmr.vmr_ttyname);
	return (0);
}

int
vm_start(struct parse_result *res)
{
	struct vmop_create_params	*vmc;
	struct vm_create_params		*vcp;
	uint64_t			 memsize = res->size;
	unsigned int			 flags = 0;
	int				 nnics, nplain, i, n;
	int				 kernelfd = -1, initrdfd = -1;

	/* -i is the total; -L and -n fill it first, plain ones the rest */
	nnics = res->nifs == -1 ? 0 : res->nifs;
	if (nnics < res->nlocal + res->nswitches)
		nnics = res->nlocal + res->nswitches;
	nplain = nnics - res->nlocal - res->nswitches;

	if (memsize)
		flags |= VMOP_CREATE_MEMORY;
	if (res->ncpus)
		flags |= VMOP_CREATE_CPU;
	if (nnics)
		flags |= VMOP_CREATE_NETWORK;
	if (res->ndisks)
		flags |= VMOP_CREATE_DISK;
	if (res->path != NULL)
		flags |= VMOP_CREATE_KERNEL;
	if (res->isopath != NULL)
		flags |= VMOP_CREATE_CDROM;
	if (res->initrd != NULL)
		flags |= VMOP_CREATE_INITRD;
	if (res->cmdline != NULL)
		flags |= VMOP_CREATE_CMDLINE;
	if (res->instance != NULL)
		flags |= VMOP_CREATE_INSTANCE;
	else if (flags != 0) {
		/* a new VM; a bare name may be one vmd knows already */
		if (memsize == 0)
			memsize = VM_DEFAULT_MEMORY;
		if (res->ndisks > VM_MAX_DISKS_PER_VM)
			errx(1, "too many disks");
		else if (res->path == NULL && res->ndisks == 0)
			warnx("starting without disks");
		if (res->path == NULL && res->ndisks == 0 &&
		    res->isopath == NULL)
			errx(1, "no kernel or disk/cdrom specified");
		if (nnics > VM_MAX_NICS_PER_VM)
			errx(1, "too many network interfaces");
		if (res->path == NULL && nnics == 0)
			warnx("starting without network interfaces");
	}
	if (res->ndisks > VM_MAX_DISKS_PER_VM)
		errx(1, "too many disks");
	if (nnics > VM_MAX_NICS_PER_VM)
		errx(1, "too many network interfaces");

	if ((vmc = calloc(1, sizeof(*vmc))) == NULL)
		err(1, "calloc");
	vcp = &vmc->vmc_params;
	vmc->vmc_flags = flags;
	vcp->vcp_memory_size = memsize;
	vcp->vcp_ncpus = res->ncpus ? res->ncpus : 1;
	vcp->vcp_id = res->id;

	if (res->name != NULL) {
		if (!vm_name_valid(res->name) &&
		    strlen(res->name) < VMM_MAX_NAME_LEN)
			errx(1, "invalid VM name");
		if (strlcpy(vcp->vcp_name, res->name,
		    sizeof(vcp->vcp_name)) >= sizeof(vcp->vcp_name))
			errx(1, "vm name too long");
	}

	vmc->vmc_ndisks = res->ndisks;
	for (i = 0; i < res->ndisks; i++) {
		if (strlcpy(vmc->vmc_disks[i], res->disks[i],
		    sizeof(vmc->vmc_disks[i])) >= sizeof(vmc->vmc_disks[i]))
			errx(1, "disk path too long");
		vmc->vmc_disktypes[i] = res->disktypes[i];
	}

	/*
	 * Local interfaces come first, so they are vio0... in the guest,
	 * then those on switches (as upstream, before the plain ones of -i).
	 */
	vmc->vmc_nnics = nnics;
	n = 0;
	for (i = 0; i < res->nlocal; i++, n++)
		vmc->vmc_ifflags[n] = VMIFF_UP | VMIFF_LOCAL;
	for (i = 0; i < res->nswitches; i++, n++) {
		vmc->vmc_ifflags[n] = VMIFF_UP;
		if (strlcpy(vmc->vmc_ifswitch[n], res->switches[i],
		    sizeof(vmc->vmc_ifswitch[n])) >=
		    sizeof(vmc->vmc_ifswitch[n]))
			errx(1, "interface name too long");
	}
	for (i = 0; i < nplain; i++, n++)
		vmc->vmc_ifflags[n] = VMIFF_UP;

	if (res->path != NULL) {
		if (strlcpy(vmc->vmc_kernel, res->path,
		    sizeof(vmc->vmc_kernel)) >= sizeof(vmc->vmc_kernel))
			errx(1, "kernel name too long");
		kernelfd = open_image(res->path, "kernel");
	}
	if (res->initrd != NULL) {
		if (strlcpy(vmc->vmc_initrd, res->initrd,
		    sizeof(vmc->vmc_initrd)) >= sizeof(vmc->vmc_initrd))
			errx(1, "initrd name too long");
		initrdfd = open_image(res->initrd, "initrd");
	}
	if (res->cmdline != NULL &&
	    strlcpy(vmc->vmc_cmdline, res->cmdline,
	    sizeof(vmc->vmc_cmdline)) >= sizeof(vmc->vmc_cmdline))
		errx(1, "kernel command line too long");
	if (res->isopath != NULL &&
	    strlcpy(vmc->vmc_cdrom, res->isopath,
	    sizeof(vmc->vmc_cdrom)) >= sizeof(vmc->vmc_cdrom))
		errx(1, "cdrom name too long");
	if (res->instance != NULL &&
	    strlcpy(vmc->vmc_instance, res->instance,
	    sizeof(vmc->vmc_instance)) >= sizeof(vmc->vmc_instance))
		errx(1, "instance vm name too long");
	vmc->vmc_bootdevice = res->bootdevice;
	vmc->vmc_owner.uid = getuid();
	vmc->vmc_owner.gid = -1;

	/* the initrd travels first, the request that uses it follows */
	if (initrdfd != -1)
		vmctl_compose(IMSG_VMDOP_START_VM_INITRD, initrdfd, NULL, 0);
	vmctl_compose(IMSG_VMDOP_START_VM_REQUEST, kernelfd, vmc,
	    sizeof(*vmc));
	free(vmc);
	vmctl_flush();

	return (start_complete(res->autoconnect, "start"));
}

/*
 * send, receive
 */

/*
 * The VM, whole, to standard output, which vmd writes itself; the VM
 * ends once it is sent, as upstream's does.
 */
int
vm_send(uint32_t id, const char *name)
{
	struct vmop_id		 vid;
	struct vmop_result	 vmr;
	struct imsg		 imsg;

	if (isatty(STDOUT_FILENO))
		errx(1, "send: standard output is a terminal");
	memset(&vid, 0, sizeof(vid));
	vid.vid_id = id;
	if (name != NULL)
		(void)strlcpy(vid.vid_name, name, sizeof(vid.vid_name));
	vmctl_compose(IMSG_VMDOP_SEND_VM_REQUEST, STDOUT_FILENO, &vid,
	    sizeof(vid));
	vmctl_flush();

	vmctl_recv(&imsg);
	if (imsg_get_type(&imsg) != IMSG_VMDOP_SEND_VM_RESPONSE ||
	    vmctl_result(&imsg, &vmr) == -1) {
		imsg_free(&imsg);
		warnx("unexpected response received from vmd");
		return (1);
	}
	imsg_free(&imsg);
	if (vmr.vmr_result != 0) {
		errno = vmr.vmr_result;
		warn("send vm command failed");
		return (1);
	}
	return (0);
}

/*
 * A VM from standard input, under a new name.  vmctl reads the stream's
 * first bytes (its header and the VM's parameters) and hands them to
 * vmd with the rest, so vmd never waits on a client's descriptor.
 */
int
vm_receive(const char *name)
{
	struct vmop_id	 vid;
	uint8_t		*buf;
	size_t		 len = sizeof(vid) + VMS_PREFIX_LEN, off;
	ssize_t		 n;

	if (isatty(STDIN_FILENO))
		errx(1, "receive: standard input is a terminal");
	if ((buf = calloc(1, len)) == NULL)
		err(1, "calloc");
	memset(&vid, 0, sizeof(vid));
	(void)strlcpy(vid.vid_name, name, sizeof(vid.vid_name));
	memcpy(buf, &vid, sizeof(vid));
	for (off = sizeof(vid); off < len; off += n) {
		if ((n = read(STDIN_FILENO, buf + off, len - off)) == -1) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			err(1, "receive: standard input");
		}
		if (n == 0)
			errx(1, "receive: the VM stream is truncated");
	}
	vmctl_compose(IMSG_VMDOP_RECEIVE_VM_REQUEST, STDIN_FILENO, buf, len);
	free(buf);
	vmctl_flush();
	return (start_complete(0, "receive"));
}

/*
 * stop, wait
 */

int
vm_terminate(uint32_t id, const char *name, unsigned int flags)
{
	struct vmop_id	 vid;

	memset(&vid, 0, sizeof(vid));
	vid.vid_id = id;
	if (name != NULL) {
		(void)strlcpy(vid.vid_name, name, sizeof(vid.vid_name));
		fprintf(stderr, "stopping vm %s: ", name);
	} else
		fprintf(stderr, "stopping vm: ");
	vid.vid_flags = flags & (VMOP_FORCE | VMOP_WAIT);

	vmctl_compose(IMSG_VMDOP_TERMINATE_VM_REQUEST, -1, &vid, sizeof(vid));
	vmctl_flush();

	return (terminate_complete(vid.vid_flags));
}

int
vm_waitfor(uint32_t id, const char *name)
{
	struct vmop_id	 vid;

	memset(&vid, 0, sizeof(vid));
	vid.vid_id = id;
	if (name != NULL) {
		(void)strlcpy(vid.vid_name, name, sizeof(vid.vid_name));
		fprintf(stderr, "waiting for vm %s: ", name);
	} else
		fprintf(stderr, "waiting for vm: ");

	vmctl_compose(IMSG_VMDOP_WAIT_VM_REQUEST, -1, &vid, sizeof(vid));
	vmctl_flush();

	return (terminate_complete(VMOP_WAIT));
}

/*
 * The answer to a stop or wait: a TERMINATE_VM_RESPONSE with an error,
 * or with success unless we wait, or the TERMINATE_VM_EVENT of the VM's
 * end when we wait.  The text ends the "stopping vm NAME: " line.
 */
static int
terminate_complete(unsigned int flags)
{
	struct vmop_result	 vmr;
	struct imsg		 imsg;
	uint32_t		 type;

	for (;;) {
		vmctl_recv(&imsg);
		type = imsg_get_type(&imsg);
		if ((type != IMSG_VMDOP_TERMINATE_VM_RESPONSE &&
		    type != IMSG_VMDOP_TERMINATE_VM_EVENT) ||
		    vmctl_result(&imsg, &vmr) == -1) {
			imsg_free(&imsg);
			fprintf(stderr,
			    "unexpected response received from vmd\n");
			return (1);
		}
		imsg_free(&imsg);

		if (type == IMSG_VMDOP_TERMINATE_VM_EVENT) {
			if ((flags & VMOP_FORCE) && !(flags & VMOP_WAIT))
				fprintf(stderr, "forced to terminate vm %d\n",
				    vmr.vmr_id);
			else
				fprintf(stderr, "terminated vm %d\n",
				    vmr.vmr_id);
			return (0);
		}

		switch (vmr.vmr_result) {
		case 0:
			/* the event follows when the VM is gone */
			if (flags & VMOP_WAIT)
				continue;
			if (flags & VMOP_FORCE)
				fprintf(stderr, "forced to terminate vm %d\n",
				    vmr.vmr_id);
			else
				fprintf(stderr, "requested to shutdown vm %d\n",
				    vmr.vmr_id);
			return (0);
		case VMD_VM_STOP_INVALID:
			fprintf(stderr, "cannot stop vm that is not running\n");
			break;
		case ENOENT:
			fprintf(stderr, "vm not found\n");
			break;
		case EINTR:
			fprintf(stderr, "interrupted call\n");
			break;
		default:
			fprintf(stderr, "failed: %s\n",
			    strerror(vmr.vmr_result));
			break;
		}
		return (1);
	}
}

/* stop -a: one request per running VM, by name, one after the other. */
int
vm_stopall(unsigned int flags)
{
	struct vmop_info_result	*list;
	size_t			 ct, i;
	int			 ret = 0;

	if (get_info(&list, &ct) != 0)
		return (1);
	for (i = 0; i < ct; i++) {
		if (!vm_info_running(&list[i]))
			continue;
		if (vm_terminate(0, list[i].vir_info.vir_name, flags) != 0)
			ret = 1;
	}
	free(list);
	return (ret);
}

/*
 * pause, unpause
 */

int
vm_pause(uint32_t id, const char *name, int pause)
{
	struct vmop_id		 vid;
	struct vmop_result	 vmr;
	struct imsg		 imsg;
	uint32_t		 req, rsp;

	req = pause ? IMSG_VMDOP_PAUSE_VM : IMSG_VMDOP_UNPAUSE_VM;
	rsp = pause ? IMSG_VMDOP_PAUSE_VM_RESPONSE :
	    IMSG_VMDOP_UNPAUSE_VM_RESPONSE;

	memset(&vid, 0, sizeof(vid));
	vid.vid_id = id;
	if (name != NULL)
		(void)strlcpy(vid.vid_name, name, sizeof(vid.vid_name));

	vmctl_compose(req, -1, &vid, sizeof(vid));
	vmctl_flush();

	vmctl_recv(&imsg);
	if (imsg_get_type(&imsg) != rsp || vmctl_result(&imsg, &vmr) == -1) {
		imsg_free(&imsg);
		warnx("unexpected response received from vmd");
		return (1);
	}
	imsg_free(&imsg);

	if (vmr.vmr_result != 0) {
		errno = vmr.vmr_result;
		warn("%s vm command failed", pause ? "pause" : "unpause");
		return (1);
	}
	warnx("%s vm %d successfully", pause ? "paused" : "unpaused",
	    vmr.vmr_id);
	return (0);
}

/*
 * status, console
 */

/* The list of VMs: any number of GET_INFO_VM_DATA, then END_DATA. */
static int
get_info(struct vmop_info_result **listp, size_t *ctp)
{
	struct vmop_info_result	*list = NULL, *l;
	struct imsg		 imsg;
	size_t			 ct = 0;
	uint32_t		 type;

	vmctl_compose(IMSG_VMDOP_GET_INFO_VM_REQUEST, -1, NULL, 0);
	vmctl_flush();

	for (;;) {
		vmctl_recv(&imsg);
		type = imsg_get_type(&imsg);
		if (type == IMSG_VMDOP_GET_INFO_VM_END_DATA) {
			imsg_free(&imsg);
			break;
		}
		if (type != IMSG_VMDOP_GET_INFO_VM_DATA ||
		    imsg_get_len(&imsg) != sizeof(*list)) {
			imsg_free(&imsg);
			free(list);
			warnx("unexpected response received from vmd");
			return (1);
		}
		if ((l = reallocarray(list, ct + 1, sizeof(*list))) == NULL)
			err(1, "reallocarray");
		list = l;
		(void)imsg_get_data(&imsg, &list[ct], sizeof(*list));
		imsg_free(&imsg);
		l = &list[ct++];
		l->vir_info.vir_name[sizeof(l->vir_info.vir_name) - 1] = '\0';
		l->vir_ttyname[sizeof(l->vir_ttyname) - 1] = '\0';
	}

	*listp = list;
	*ctp = ct;
	return (0);
}

int
vm_status(uint32_t id, const char *name, int rflag)
{
	struct vmop_info_result	*list;
	size_t			 ct;
	int			 ret;

	if (get_info(&list, &ct) != 0)
		return (1);
	ret = print_vm_info(list, ct, id, name, rflag);
	free(list);
	return (ret == 0 ? 0 : 1);
}

int
vm_console(uint32_t id, const char *name)
{
	struct vmop_info_result	*list;
	char			 tty[VM_TTYNAME_MAX];
	size_t			 ct, i;

	if (get_info(&list, &ct) != 0)
		return (1);
	tty[0] = '\0';
	for (i = 0; i < ct; i++) {
		/*
		 * As status says "running" from the start request on, so the
		 * console is there from then (its pty is the parent's), not
		 * only once the VM process has answered.
		 */
		if ((id != 0 || name != NULL) &&
		    vm_info_match(&list[i], id, name) &&
		    (vm_info_running(&list[i]) ||
		    (list[i].vir_state & VM_STATE_RUNNING)) &&
		    list[i].vir_ttyname[0] != '\0') {
			(void)strlcpy(tty, list[i].vir_ttyname, sizeof(tty));
			break;
		}
	}
	free(list);
	if (tty[0] == '\0')
		errx(1, "console not found");

	vmctl_close();
	return (console_attach(tty));
}

/* A VM runs when it has a process and a vmm id. */
int
vm_info_running(const struct vmop_info_result *vmi)
{
	return (vmi->vir_info.vir_creator_pid != 0 &&
	    vmi->vir_info.vir_id != 0);
}

/* The TTY column: "pts/4" for /dev/pts/4, "-" for none. */
const char *
vm_info_tty(const struct vmop_info_result *vmi)
{
	const char	*tty = vmi->vir_ttyname;

	if (*tty == '\0')
		return ("-");
	if (strncmp(tty, "/dev/", 5) == 0 && tty[5] != '\0')
		return (tty + 5);
	return (tty);
}

/* The OWNER column: user name or uid, then ":group" if a group is set. */
void
vm_info_owner(uid_t uid, int64_t gid, char *buf, size_t len)
{
	const char	*name;
	char		 group[32];

	if ((name = user_from_uid(uid, 1)) != NULL)
		(void)strlcpy(buf, name, len);
	else
		(void)snprintf(buf, len, "%u", (unsigned int)uid);

	if (gid == -1)
		return;
	if ((name = group_from_gid((gid_t)gid, 1)) != NULL)
		(void)snprintf(group, sizeof(group), ":%s", name);
	else
		(void)snprintf(group, sizeof(group), ":%lld", (long long)gid);
	(void)strlcat(buf, group, len);
}

int
vm_info_header(char *buf, size_t len)
{
	return (snprintf(buf, len, "%5s %5s %5s %7s %7s %7s %12s %8s %s",
	    "ID", "PID", "VCPUS", "MAXMEM", "CURMEM", "TTY", "OWNER", "STATE",
	    "NAME"));
}

/* One line of vmctl status, without the newline. */
int
vm_info_row(const struct vmop_info_result *vmi, char *buf, size_t len)
{
	const struct vm_info_result	*vir = &vmi->vir_info;
	char				 maxmem[FMT_SCALED_STRSIZE];
	char				 curmem[FMT_SCALED_STRSIZE];
	char				 pid[16], owner[64];
	const char			*tty = "-";

	vm_info_owner(vmi->vir_uid, vmi->vir_gid, owner, sizeof(owner));

	(void)strlcpy(maxmem, "-", sizeof(maxmem));
	(void)strlcpy(curmem, "-", sizeof(curmem));
	(void)strlcpy(pid, "-", sizeof(pid));
	(void)fmt_scaled((long long)vir->vir_memory_size, maxmem);

	if (vm_info_running(vmi)) {
		(void)snprintf(pid, sizeof(pid), "%u",
		    (unsigned int)vir->vir_creator_pid);
		(void)fmt_scaled((long long)vir->vir_used_size, curmem);
		tty = vm_info_tty(vmi);
	}

	return (snprintf(buf, len, "%5u %5s %5zu %7s %7s %7s %12s %8s %s",
	    vir->vir_id, pid, vir->vir_ncpus, maxmem, curmem, tty, owner,
	    vm_state(vmi->vir_state), vir->vir_name));
}

/* Does the VM match "status id"?  No id and no name match them all. */
int
vm_info_match(const struct vmop_info_result *vmi, uint32_t id,
    const char *name)
{
	if (id == 0 && (name == NULL || *name == '\0'))
		return (1);
	if (id != 0 && id == vmi->vir_info.vir_id)
		return (1);
	if (name != NULL && *name != '\0' &&
	    strcmp(name, vmi->vir_info.vir_name) == 0)
		return (1);
	return (0);
}

/*
 * The status table, in the order vmd sent it.  As upstream, ENOENT when
 * there is no VM at all, or none running with -r; a filter that matches
 * nothing prints the header alone and succeeds.
 */
int
print_vm_info(const struct vmop_info_result *list, size_t ct, uint32_t id,
    const char *name, int rflag)
{
	char	 line[256];
	size_t	 i, found = 0;

	(void)vm_info_header(line, sizeof(line));
	printf("%s\n", line);

	for (i = 0; i < ct; i++) {
		if (rflag && !vm_info_running(&list[i]))
			continue;
		found++;
		if (!vm_info_match(&list[i], id, name))
			continue;
		(void)vm_info_row(&list[i], line, sizeof(line));
		printf("%s\n", line);
	}
	fflush(stdout);

	return (found ? 0 : ENOENT);
}

/*
 * create
 */

/*
 * The format of a disk: a "raw:" or "qcow2:" prefix, else the qcow2
 * magic of an existing file, else a .raw or .qcow2 extension, else raw.
 * *path is the name without the prefix.
 */
int
parse_disktype(const char *s, const char **path)
{
	char		 buf[sizeof(QCOW2_MAGIC) - 1];
	const char	*ext;
	ssize_t		 len;
	int		 fd;

	*path = s;
	if (strncmp(s, "raw:", 4) == 0) {
		*path = s + 4;
		return (VMDF_RAW);
	}
	if (strncmp(s, "qcow2:", 6) == 0) {
		*path = s + 6;
		return (VMDF_QCOW2);
	}

	if ((fd = open(s, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) != -1) {
		len = read(fd, buf, sizeof(buf));
		close(fd);
		if (len == (ssize_t)sizeof(buf) &&
		    memcmp(buf, QCOW2_MAGIC, sizeof(buf)) == 0)
			return (VMDF_QCOW2);
	}

	if ((ext = strrchr(s, '.')) != NULL && ext[1] != '\0') {
		ext++;
		if (strcasecmp(ext, "raw") == 0)
			return (VMDF_RAW);
		if (strcasecmp(ext, "qcow2") == 0)
			return (VMDF_QCOW2);
	}
	return (VMDF_RAW);
}

/*
 * A new image: raw (sparse) or qcow2, on base when given (qcow2 only;
 * size 0 then takes the base's).  Never over an existing file.  Returns
 * 0 or an errno; err holds upstream's message when it has its own.
 */
int
create_imagefile(int type, const char *path, const char *base,
    uint64_t size, const char **format, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	if (type == VMDF_QCOW2) {
		*format = "qcow2";
		return (disk_create_qcow2(path, size, base, err, errlen));
	}
	*format = "raw";
	return (disk_create_raw(path, size, err, errlen));
}

static int
chunk_is_zero(const uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return (0);
	return (1);
}

/*
 * vmctl create -i: copy input, raw or qcow2 with its backing chain, into
 * a new image of type at path, size bytes (0: the input's), rounded up
 * to whole megabytes (*rounded then says to what).  Chunks of zeroes
 * are not written, so the copy stays sparse.  A half-made copy is
 * removed.  Returns NULL or upstream's message, detail the backend's
 * reason when there is one.
 */
const char *
convert_imagefile(const char *input, int type, const char *path,
    uint64_t size, const char **format, uint64_t *rounded, char *detail,
    size_t detaillen)
{
	struct disk	*src = NULL, *dst = NULL;
	struct stat	 st;
	struct iovec	 iov;
	const char	*errstr = NULL, *ipath;
	uint8_t		*buf = NULL;
	uint64_t	 ssize, dsize, off, n, c, chunk;
	size_t		 buflen = 1024 * 1024;
	int		 itype, created = 0, r;

	if (detaillen > 0)
		detail[0] = '\0';
	*rounded = 0;
	*format = type == VMDF_QCOW2 ? "qcow2" : "raw";
	itype = parse_disktype(input, &ipath);
	/* a missing input: upstream's one line, nothing before it */
	if (stat(ipath, &st) == -1) {
		errstr = "failed to open source image file";
		goto done;
	}
	if ((src = disk_open_path(itype, ipath, 1, detail,
	    detaillen)) == NULL) {
		errstr = "failed to open source image file";
		goto done;
	}
	ssize = disk_size(src);
	if (size == 0)
		size = ssize;
	if (size < ssize) {
		errstr = "size cannot be smaller than input disk size";
		goto done;
	}
	dsize = (size + 1048575) / 1048576 * 1048576;
	if (dsize != size)
		*rounded = dsize;

	if ((r = create_imagefile(type, path, NULL, dsize, format, detail,
	    detaillen)) != 0) {
		if (detail[0] == '\0')
			snprintf(detail, detaillen, "%s: %s", path,
			    strerror(r));
		errstr = "failed to create destination image file";
		goto done;
	}
	created = 1;
	if ((dst = disk_open_path(type, path, 0, detail, detaillen)) == NULL) {
		errstr = "failed to open destination image file";
		goto done;
	}
	if ((buf = malloc(buflen)) == NULL) {
		errstr = "failed to allocated buffers";
		goto done;
	}
	/* 64 KiB pieces of zeroes are skipped, as upstream */
	for (off = 0; off < ssize; off += n) {
		n = MINIMUM(buflen, ssize - off);
		iov.iov_base = buf;
		iov.iov_len = n;
		if ((r = disk_readv(src, &iov, 1, off)) != 0) {
			snprintf(detail, detaillen, "%s", strerror(-r));
			errstr = "failed to read from source";
			goto done;
		}
		for (c = 0; c < n; c += chunk) {
			chunk = MINIMUM(65536, n - c);
			if (chunk_is_zero(buf + c, chunk))
				continue;
			iov.iov_base = buf + c;
			iov.iov_len = chunk;
			if ((r = disk_writev(dst, &iov, 1, off + c)) != 0) {
				snprintf(detail, detaillen, "%s",
				    strerror(-r));
				errstr = "failed to write to destination";
				goto done;
			}
		}
	}
	if ((r = disk_flush(dst)) != 0) {
		snprintf(detail, detaillen, "%s", strerror(-r));
		errstr = "failed to write to destination";
		goto done;
	}
 done:
	free(buf);
	disk_close(src);
	disk_close(dst);
	if (errstr != NULL && created)
		(void)unlink(path);
	return (errstr);
}

/*
 * The built-in console: the VM's pty, raw at 115200, relayed to and from
 * our terminal with cu(1)'s escapes.
 */

static struct termios		 cons_saved;
static int			 cons_raw;
static volatile sig_atomic_t	 cons_signal;

void
console_esc_init(struct console_esc *st)
{
	st->bol = 1;
	st->tilde = 0;
}

/*
 * Feed one byte typed by the user.  out (2 bytes) and *nout get what goes
 * to the VM.  "~" is held back at the beginning of a line: "~." ends the
 * session, "~~" sends one "~", "~?" asks for help, and "~" followed by
 * anything else sends both.
 */
int
console_escape(struct console_esc *st, unsigned char c, unsigned char *out,
    size_t *nout)
{
	*nout = 0;

	if (st->tilde) {
		st->tilde = 0;
		switch (c) {
		case '.':
			return (CONSOLE_EXIT);
		case '?':
			st->bol = 1;
			return (CONSOLE_HELP);
		case '~':
			out[(*nout)++] = '~';
			st->bol = 0;
			return (CONSOLE_SEND);
		default:
			out[(*nout)++] = '~';
			break;
		}
	} else if (st->bol && c == '~') {
		st->tilde = 1;
		return (CONSOLE_SEND);
	}

	out[(*nout)++] = c;
	st->bol = (c == '\r' || c == '\n');
	return (CONSOLE_SEND);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

static void
console_reset(void)
{
	if (cons_raw) {
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &cons_saved);
		cons_raw = 0;
	}
}

static void
console_signal(int sig)
{
	cons_signal = sig;
}

int
console_attach(const char *path)
{
	static const char	 help[] = "\r\n"
	    "~.\tdisconnect\r\n"
	    "~~\tsend a single ~\r\n"
	    "~?\tthis help\r\n";
	struct console_esc	 esc;
	struct sigaction	 sa;
	struct termios		 tio;
	struct pollfd		 pfd[2];
	unsigned char		 buf[4096], obuf[2 * sizeof(buf)], out[2];
	size_t			 olen, nout;
	ssize_t			 n, i;
	int			 fd, in_open = 1, act = CONSOLE_SEND;

	if ((fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	if (tcgetattr(fd, &tio) == -1)
		err(1, "%s", path);
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	(void)cfsetispeed(&tio, B115200);
	(void)cfsetospeed(&tio, B115200);
	if (tcsetattr(fd, TCSANOW, &tio) == -1)
		err(1, "%s", path);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = console_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);

	fprintf(stderr, "Connected to %s (speed %d)\n", path,
	    VMCTL_CONSOLE_SPEED);

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &cons_saved) == 0) {
		tio = cons_saved;
		cfmakeraw(&tio);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &tio) == 0) {
			cons_raw = 1;
			atexit(console_reset);
		}
	}

	console_esc_init(&esc);
	while (!cons_signal && act != CONSOLE_EXIT) {
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}

		/* the guest's output */
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				;
			else if (n <= 0)
				break;	/* the VM's side is gone */
			else if (write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
				break;
		}

		/* what we type; on end of input keep showing the guest */
		if (!in_open ||
		    !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			in_open = 0;
			continue;
		}
		olen = 0;
		for (i = 0; i < n; i++) {
			act = console_escape(&esc, buf[i], out, &nout);
			memcpy(obuf + olen, out, nout);
			olen += nout;
			if (act == CONSOLE_EXIT)
				break;
			if (act == CONSOLE_HELP) {
				if (write_all(fd, obuf, olen) == -1)
					break;
				olen = 0;
				(void)write_all(STDERR_FILENO, help,
				    sizeof(help) - 1);
			}
		}
		if (olen > 0 && write_all(fd, obuf, olen) == -1)
			break;
	}

	/* still raw: the line ends are ours */
	fprintf(stderr, "\r\n[EOT]\r\n");
	console_reset();
	close(fd);
	return (0);
}
