# Shared rules: compiler, warnings, libraries.

CC ?= cc
PKG_CONFIG ?= pkg-config
YACC := $(shell command -v byacc 2>/dev/null || echo "bison -y")

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter
CSTD = -std=gnu11
OPT ?= -O2 -g
BSD_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbsd-overlay 2>/dev/null || echo "-isystem /usr/include/bsd -DLIBBSD_OVERLAY")
BSD_LIBS := $(shell $(PKG_CONFIG) --libs libbsd-overlay 2>/dev/null || echo -lbsd)
EVENT_LIBS := $(shell $(PKG_CONFIG) --libs libevent 2>/dev/null || echo -levent)
SECCOMP_LIBS := $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)
MNL_LIBS := $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null || echo -lmnl)
ZLIB_LIBS := $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null || echo -lz)

CPPFLAGS += $(BSD_CFLAGS) -Icompat -Ivmd -Ivmm -I$(BUILD)/obj/vmd -D_GNU_SOURCE
CFLAGS += $(CSTD) $(OPT) $(WARNINGS) -pthread
LDLIBS += $(EVENT_LIBS) $(SECCOMP_LIBS) $(MNL_LIBS) $(ZLIB_LIBS) \
	$(BSD_LIBS) -pthread

# yacc output is not ours to keep warning-free
PARSE_CFLAGS = -Wno-unused-function -Wno-unused-variable -Wno-sign-compare \
	-Wno-missing-prototypes -Wno-unused-but-set-variable
