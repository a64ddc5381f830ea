# vmd, vmctl and vm.conf for Linux on KVM.
#
#   make            build vmd and vmctl into build/
#   make test       the whole suite, with the Linux guests of the nested
#                   test host; ends with "N passed, N failed"
#   make test-full  the same with every Linux scenario
#   make test-linux the Linux stage alone
#   make demo       install what is missing, build, boot a Linux guest
#   make install    PREFIX=/usr/local DESTDIR= (and make uninstall)
#   make deb        a Debian package in build/
#   make bench      side by side with QEMU (not part of make test)
#   make bench-linux  the same with Linux, in the nested test host
#   make bench-disk   virtio-blk against QEMU's, in the nested test host
#   make bench-net    virtio-net against QEMU's, in the nested test host
#   make bench-life   send/receive and SMP against QEMU's, in the nested host
#   make bench-scale  100 VMs in one vmd: start rate, status, memory
#   make fuzz       the libFuzzer targets, FUZZ_TIME seconds each (not in test);
#                   make fuzz-NAME one of them (dhcp, vionet, vioblk, qcow2,
#                   vmstate, parse, control, loadfile, vioscsi, fwcfg,
#                   ns8250, mc146818, pci)

BUILD ?= build
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd \
	2>/dev/null || echo /lib/systemd/system)
SEABIOS ?= /usr/share/seabios/bios.bin
DESTDIR ?=

include mk/common.mk

COMPAT_SRCS := $(wildcard compat/*.c)
VMD_LIB_SRCS := $(filter-out vmd/vmd.c vmd/parse.c,$(wildcard vmd/*.c)) $(wildcard vmm/*.c)
VMCTL_LIB_SRCS := $(filter-out vmctl/main.c,$(wildcard vmctl/*.c))
UNIT_SRCS := $(wildcard regress/unit/t_*.c)

OBJ := $(BUILD)/obj
COMPAT_OBJS := $(COMPAT_SRCS:%.c=$(OBJ)/%.o)
VMD_LIB_OBJS := $(VMD_LIB_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/vmd/parse.o
VMCTL_LIB_OBJS := $(VMCTL_LIB_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/vmd/util.o \
	$(OBJ)/vmd/disk.o $(OBJ)/vmd/vioraw.o $(OBJ)/vmd/vioqcow2.o
UNIT_BINS := $(UNIT_SRCS:regress/unit/%.c=$(BUILD)/unit/%)
TOOL_BINS := $(patsubst regress/tools/%.c,$(BUILD)/tools/%,$(wildcard regress/tools/*.c))

LIBCOMPAT := $(BUILD)/libcompat.a
LIBVMD := $(BUILD)/libvmd.a
LIBVMCTL := $(BUILD)/libvmctl.a

.PHONY: all guest unit test test-unit test-linux test-full demo install deb \
	uninstall clean bench bench-linux bench-disk bench-net bench-life bench-scale deps \
	fuzz fuzz-build
.DELETE_ON_ERROR:

all: $(BUILD)/vmd $(BUILD)/vmctl

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/vmd/parse.c: vmd/parse.y
	@mkdir -p $(dir $@)
	$(YACC) -o $@ $<

$(OBJ)/vmd/parse.o: $(OBJ)/vmd/parse.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PARSE_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMPAT): $(COMPAT_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBVMD): $(VMD_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBVMCTL): $(VMCTL_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/vmd: $(OBJ)/vmd/vmd.o $(LIBVMD) $(LIBCOMPAT)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vmctl: $(OBJ)/vmctl/main.o $(LIBVMCTL) $(LIBCOMPAT)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(BSD_LIBS)

# each unit test links the production code it tests
$(BUILD)/unit/%: regress/unit/%.c $(LIBVMCTL) $(LIBVMD) $(LIBCOMPAT)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ivmctl $(LDFLAGS) -o $@ $^ $(LDLIBS)

# small helpers of the shell tests
$(BUILD)/tools/%: regress/tools/%.c $(LIBCOMPAT)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

guest:
	$(MAKE) -C regress/guest O=$(abspath $(BUILD))/guest

unit: $(UNIT_BINS) $(TOOL_BINS)

test: all unit guest
	BUILD=$(abspath $(BUILD)) sh regress/run

test-unit: unit
	BUILD=$(abspath $(BUILD)) sh regress/run unit

# real Linux guests under our vmd, in a nested KVM host booted under QEMU
# TCG (regress/nested)
test-linux: all
	BUILD=$(abspath $(BUILD)) sh regress/run linux

test-full: all unit guest
	BUILD=$(abspath $(BUILD)) NESTED_FULL=1 sh regress/run

demo:
	sh scripts/demo.sh

deps:
	sh scripts/deps.sh

bench: all guest
	BUILD=$(abspath $(BUILD)) sh bench/run

bench-linux: all
	BUILD=$(abspath $(BUILD)) sh bench/linux

bench-disk: all
	BUILD=$(abspath $(BUILD)) sh bench/disk

bench-net: all
	BUILD=$(abspath $(BUILD)) sh bench/net

bench-life: all
	BUILD=$(abspath $(BUILD)) sh bench/life

bench-scale: all guest
	BUILD=$(abspath $(BUILD)) sh bench/scale

# libFuzzer targets, not part of make test: every regress/fuzz/fuzz_*.c
# links the vmd library built again with clang and the sanitizers into
# $(BUILD)/fuzz.  make fuzz runs each for FUZZ_TIME seconds on a corpus
# in $(BUILD)/fuzz/corpus/NAME, seeded by regress/fuzz/NAME.seed when
# there is one; crashes are left as $(BUILD)/fuzz/NAME-crash-*.
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_MAX_LEN ?= 65536
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(CSTD) -g -O1 $(WARNINGS) -pthread $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link
FUZZ := $(BUILD)/fuzz
FUZZ_BINS := $(patsubst regress/fuzz/%.c,$(FUZZ)/%,$(wildcard regress/fuzz/fuzz_*.c))
FUZZ_LIB_OBJS := $(VMD_LIB_SRCS:%.c=$(FUZZ)/obj/%.o) \
	$(COMPAT_SRCS:%.c=$(FUZZ)/obj/%.o)

$(FUZZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ)/libvmd.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(FUZZ)/fuzz_%: regress/fuzz/fuzz_%.c $(FUZZ)/libvmd.a \
    $(wildcard regress/fuzz/*.h)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ)/libvmd.a $(LDLIBS)

# fuzz_parse includes the parser yacc made
$(FUZZ)/fuzz_parse: $(OBJ)/vmd/parse.c

fuzz-build: $(FUZZ_BINS)

# FUZZ_RUN: run the fuzzer $(1) (a path under $(FUZZ)) on its corpus
define FUZZ_RUN
n=$$(basename $(1)); c=$(FUZZ)/corpus/$$n; mkdir -p $$c; \
if [ -f regress/fuzz/$$n.seed ]; then sh regress/fuzz/$$n.seed $$c; fi; \
echo "fuzz: $$n for $(FUZZ_TIME)s"; \
$(1) -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAX_LEN) \
    -print_final_stats=1 -artifact_prefix=$(FUZZ)/$$n- $$c
endef

fuzz: fuzz-build
	@set -e; for f in $(FUZZ_BINS); do $(call FUZZ_RUN,$$f); done

# one of them: make fuzz-dhcp, fuzz-parse, fuzz-pci, ... (the list above)
fuzz-%: $(FUZZ)/fuzz_%
	@set -e; $(call FUZZ_RUN,$<)

# install: the programs, manuals, the systemd unit (with this install's
# paths), /etc/default/vmd, a commented /etc/vm.conf and upstream's
# firmware path pointing at Debian's SeaBIOS (none of the last three
# replacing what is there), and the _vmd user if missing (marked, so that
# uninstall removes it only if install made it).  uninstall removes what
# install added and nothing else: the configuration files only while
# they are still the samples.
VMD_CREATED_USER = $(DESTDIR)/var/lib/vmd/created-_vmd

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/firmware
	install -m 755 $(BUILD)/vmd $(BUILD)/vmctl $(DESTDIR)$(SBINDIR)/
	install -m 644 vmctl.8 vmd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 vm.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|@SBINDIR@|$(SBINDIR)|g' etc/vmd.service \
	    >$(DESTDIR)$(UNITDIR)/vmd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/vmd.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/vmd ] || install -m 644 \
	    etc/vmd.default $(DESTDIR)$(SYSCONFDIR)/default/vmd
	[ -e $(DESTDIR)$(SYSCONFDIR)/vm.conf ] || install -m 644 \
	    etc/vm.conf $(DESTDIR)$(SYSCONFDIR)/vm.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/firmware/vmm-bios ] || \
	    [ -L $(DESTDIR)$(SYSCONFDIR)/firmware/vmm-bios ] || \
	    ln -s $(SEABIOS) $(DESTDIR)$(SYSCONFDIR)/firmware/vmm-bios
	if [ -z "$(DESTDIR)" ] && ! getent passwd _vmd >/dev/null; then \
	    useradd --system --no-create-home --home-dir /var/empty \
	    --shell /usr/sbin/nologin _vmd && \
	    mkdir -p $(dir $(VMD_CREATED_USER)) && \
	    touch $(VMD_CREATED_USER); fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vmd $(DESTDIR)$(SBINDIR)/vmctl \
	    $(DESTDIR)$(MANDIR)/man8/vmctl.8 $(DESTDIR)$(MANDIR)/man8/vmd.8 \
	    $(DESTDIR)$(MANDIR)/man5/vm.conf.5 \
	    $(DESTDIR)$(UNITDIR)/vmd.service
	! cmp -s etc/vmd.default $(DESTDIR)$(SYSCONFDIR)/default/vmd || \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/default/vmd
	! cmp -s etc/vm.conf $(DESTDIR)$(SYSCONFDIR)/vm.conf || \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/vm.conf
	[ "$$(readlink $(DESTDIR)$(SYSCONFDIR)/firmware/vmm-bios)" != \
	    "$(SEABIOS)" ] || rm -f $(DESTDIR)$(SYSCONFDIR)/firmware/vmm-bios
	-rmdir $(DESTDIR)$(SYSCONFDIR)/firmware 2>/dev/null
	if [ -e $(VMD_CREATED_USER) ]; then \
	    { [ -n "$(DESTDIR)" ] || userdel _vmd; } && \
	    rm -f $(VMD_CREATED_USER) && \
	    rmdir $(dir $(VMD_CREATED_USER)) 2>/dev/null; fi; true
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; fi

# a Debian binary package, built with Debian's tools (debian/), left in
# $(BUILD): apt install ./$(BUILD)/vmd_*.deb
deb:
	sh scripts/deps.sh debhelper dpkg-dev
	dpkg-buildpackage -us -uc -b
	mkdir -p $(BUILD)
	mv ../vmd_*_amd64.deb ../vmd_*_amd64.buildinfo ../vmd_*_amd64.changes \
	    $(BUILD)/
	mv ../vmd-dbgsym_*_amd64.*deb $(BUILD)/ 2>/dev/null || true

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) $(FUZZ)/obj -name '*.d' 2>/dev/null)
