# ./darknet for binary networks, built on Debian's libdarknet.so.
#   make          build ./darknet           make deps   install Debian packages (as root)
#   make data     the data sets -> data/    make demo   train + evaluate a small model
#   make test     unit + integration tests  make test-san   the same under ASan+UBSan
#   make bench    throughput benchmarks     make clean
CC          ?= cc
BUILD       ?= build
DARKNET_LIB ?= /usr/lib/darknet
SAN         ?= 0
# MPI=0 builds without Open MPI (data-parallel training, src/dist.c, then refuses mpirun)
MPI         ?= 1

DEB_PKGS = darknet libopenblas-dev check pkg-config ffmpeg dataset-fashion-mnist zlib1g-dev libsubunit-dev libcairo2-dev fonts-dejavu-core libpng-dev libjpeg-dev libdnnl-dev
ifeq ($(MPI),1)
  DEB_PKGS += openmpi-bin libopenmpi-dev
endif

# Recursive (=) so that pkg-config is only asked once the packages exist.
BLAS_CFLAGS = $(shell pkg-config --cflags openblas)
BLAS_LIBS   = $(shell pkg-config --libs openblas)
CHECK_LIBS  = $(shell pkg-config --libs check)
CAIRO_CFLAGS = $(shell pkg-config --cflags cairo)
CAIRO_LIBS   = $(shell pkg-config --libs cairo)
PNG_CFLAGS  = $(shell pkg-config --cflags libpng)
PNG_LIBS    = $(shell pkg-config --libs libpng)
MPI_CFLAGS  = $(if $(filter 1,$(MPI)),$(shell pkg-config --cflags ompi-c),-DABC_NO_MPI)
MPI_LIBS    = $(if $(filter 1,$(MPI)),$(shell pkg-config --libs ompi-c))

WARN   = -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -isystem $(DARKNET_LIB)/include -I. -Isrc -Isrc/abc $(BLAS_CFLAGS) $(CAIRO_CFLAGS) $(PNG_CFLAGS) $(MPI_CFLAGS)
LDLIBS = -L$(DARKNET_LIB) -Wl,-rpath,$(DARKNET_LIB) -ldarknet $(BLAS_LIBS) $(CAIRO_LIBS) $(PNG_LIBS) -ljpeg -ldnnl $(MPI_LIBS) -lz -lpthread -lm -ldl
ifeq ($(SAN),1)
  BUILD   = build-san
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif

MAIN_SRC = src/darknet.c
SRC_DIRS = src src/abc src/abc/base src/abc/kernels src/abc/float src/abc/quant src/abc/layers/abc src/abc/layers/hada src/abc/layers/aqt \
           bench data weights-tools
LIB_SRC  = $(filter-out $(MAIN_SRC),$(sort $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))))
# The fuzz targets (fuzz/*.c but libFuzzer's entry points) also go into the test suite, which replays their corpora.
FUZZ_SRC = $(filter-out fuzz/fuzz_main.c,$(sort $(wildcard fuzz/*.c)))
TEST_SRC = $(sort $(wildcard tests/*.c)) $(FUZZ_SRC)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
DARKNET  = $(if $(filter 1,$(SAN)),$(BUILD)/darknet,darknet)

# The only libdarknet exports ./darknet may replace (the hooks), plus the linker's
# section markers and the copy-relocated gpu_index global.
HOOKS = __bss_start _edata _end gemm gpu_index load_weights_upto parse_network_cfg resize_network save_weights_upto

.PHONY: pareto all deps data demo test test-san bench clean check-symbols fuzz fuzz-ci fuzz-deps fuzz-seeds
all: $(DARKNET) check-symbols

# make V=1 prints the whole compiler command lines.
Q = $(if $(filter 1,$(V)),,@)
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(DARKNET): $(BUILD)/$(MAIN_SRC:.c=.o) $(LIB_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/abc_tests: $(TEST_OBJ) $(LIB_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(CHECK_LIBS)

# Fails the build if a project symbol silently replaces a libdarknet export.
check-symbols: $(DARKNET)
	@clash=$$(comm -12 <(nm -D --defined-only $(DARKNET) | awk '{print $$3}' | sort -u) \
	                   <(nm -D --defined-only $(DARKNET_LIB)/libdarknet.so | awk '{print $$3}' | sort -u) \
	          | grep -vxF $(foreach h,$(HOOKS),-e $(h)) || true); \
	if [ -n "$$clash" ]; then echo "check-symbols: these project symbols shadow libdarknet exports:" $$clash; exit 1; fi
SHELL = /bin/bash

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:" $$missing; \
	  echo "run as root: apt-get update && apt-get install -y" $$missing; exit 1; fi; \
	echo "make deps: installing" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

data: deps
	@$(MAKE) --no-print-directory $(DARKNET)
	./$(DARKNET) data fashion-mnist
	./$(DARKNET) data fmnist-detect

demo: deps
	@$(MAKE) --no-print-directory $(DARKNET)
	./$(DARKNET) demo

test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/abc_tests
	cd tests && ABC_DARKNET=../$(DARKNET) ABC_TEST_LOG=$(CURDIR)/$(BUILD)/test.log ASAN_OPTIONS=detect_leaks=0 \
	  CK_DEFAULT_TIMEOUT=30 CK_TIMEOUT_MULTIPLIER=$(if $(filter 1,$(SAN)),3,1) ../$(BUILD)/abc_tests

test-san: deps
	@$(MAKE) --no-print-directory SAN=1 test

# The accuracy / cost front of the trained Fashion-MNIST rows (backup/fmnist-ROW_final.weights): pareto.png.
pareto: deps
	@$(MAKE) --no-print-directory $(DARKNET)
	./$(DARKNET) abc pareto

# Binary GEMM kernels against the CPU's peak and fp32, training in fp32 against bf16 (oneDNN and own convs), then training
# throughput against the stock /usr/bin/darknet, side by side (medians, ratios, CPU).
bench: deps
	@$(MAKE) --no-print-directory $(DARKNET)
	./$(DARKNET) abc bench
	./$(DARKNET) abc trainspeed cfg/resnet18-fmnist.cfg -compare -conv -iters 5
	bench/train_throughput.sh
	bench/demo_vs_stock.sh
	bench/mpi_scaling.sh

# libFuzzer (Debian's clang) on the readers of user input (docs/design.md). make fuzz FUZZ_SECONDS=N runs each
# target N seconds (default 600), FUZZ_RUNS=N until N inputs; fuzz-ci is CI's short run.
FUZZ_PKGS    = clang libclang-rt-14-dev
FUZZ_BUILD   = build-fuzz
FUZZ_SAN     = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_OBJ     = $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRC) $(FUZZ_SRC) fuzz/fuzz_main.c)
FUZZ_SECONDS = 600

# Coverage guides the fuzzer through the readers and checks; the arithmetic below them is left uninstrumented
# (still sanitized): it only slowed each input down.
FUZZ_COV = -fsanitize=fuzzer-no-link
$(FUZZ_BUILD)/src/abc/kernels/%.o $(FUZZ_BUILD)/src/abc/quant/%.o $(FUZZ_BUILD)/src/abc/float/%.o: FUZZ_COV =

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CLANG   $<")
	$(Q)clang $(CFLAGS) -Wno-unknown-warning-option $(FUZZ_COV) $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/abc_fuzz: $(FUZZ_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)clang -fsanitize=fuzzer $(FUZZ_SAN) $^ -o $@ $(LDLIBS)

fuzz-deps: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_PKGS)"

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/abc_fuzz
	FUZZ_RUNS=$(FUZZ_RUNS) fuzz/run.sh $(FUZZ_BUILD)/abc_fuzz $(FUZZ_SECONDS)

fuzz-ci: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/abc_fuzz
	fuzz/run.sh $(FUZZ_BUILD)/abc_fuzz 20

fuzz-seeds: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/abc_fuzz
	$(FUZZ_BUILD)/abc_fuzz seeds fuzz/corpus/weights fuzz/corpus/packfile

clean:
	rm -rf build build-san build-fuzz darknet

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/$(MAIN_SRC:.c=.d) $(FUZZ_OBJ:.o=.d)
