# SPDX-License-Identifier: GPL-2.0
#
# nvme-vfio-pci: build and check harness.
#
# The repository is an overlay on Debian's linux-source-7.3: new files at
# their kernel paths, edits to upstream files as patches in series/. This
# Makefile prepares a kernel tree from them in a cache outside the repository,
# builds a lean test kernel, runs the checks and boots the test VM.
# `make help` lists the targets.

KVER		:= 7.3
CACHE		?= $(HOME)/.cache/nvme-vfio-pci
PRISTINE	:= $(CACHE)/linux-source-$(KVER)
# A developer's own kernel tree, used instead of Debian's package.
KERNEL_SRC	?=
BASE		:= $(if $(KERNEL_SRC),$(abspath $(KERNEL_SRC)),$(PRISTINE))
TREE		:= $(CACHE)/$(if $(KERNEL_SRC),tree-custom,tree)
BUILD		:= $(CACHE)/$(if $(KERNEL_SRC),build-custom,build)
MODROOT		:= $(BUILD)-modroot
LOGS		:= $(CACHE)/logs
JOBS		?= $(shell nproc)
HARNESS		:= tools/testing/nvme-vfio

export CCACHE_DIR ?= $(CACHE)/ccache
export NVFIO_CACHE := $(CACHE)

KMAKE := $(MAKE) -C $(TREE) O=$(BUILD) CC="ccache gcc" \
	KBUILD_BUILD_TIMESTAMP=2026-01-01 KBUILD_BUILD_USER=nvfio \
	KBUILD_BUILD_HOST=nvfio -j$(JOBS)

.PHONY: help deps tree print-tree config kernel nested selftests kunit lint \
	patches qemu demo bench check soak clean-cache

help:
	@echo "Targets:"
	@echo "  deps        install everything with apt (idempotent)"
	@echo "  tree        prepare the patched kernel tree in $(CACHE)"
	@echo "  print-tree  print the path of the prepared tree"
	@echo "  kernel      build the lean test kernel and its modules"
	@echo "  kunit       run the KUnit suites in the test VM"
	@echo "  lint        checkpatch, sparse, W=1, coccicheck, kernel-doc on our files"
	@echo "  patches     emit the upstream series with a cover letter"
	@echo "  nested      build the kernel and initramfs of the guest stock QEMU migrates in the VM"
	@echo "  selftests   build the VFIO selftests, ours included"
	@echo "  qemu        build the patched qemu-system-x86_64"
	@echo "  demo        live-migrate an emulated NVMe VF, step by step"
	@echo "  bench       measure migration downtime, commands and memory (figures, not a test)"
	@echo "  check       all of the above; ends with 'N passed, N failed'"
	@echo "  soak        stock QEMU migrates a guest doing I/O 20 round trips (check makes 1)"
	@echo "Variables: KERNEL_SRC=/path (your own tree), CACHE=$(CACHE), JOBS=$(JOBS)"

deps:
	@$(HARNESS)/deps.sh

$(PRISTINE)/Makefile:
	@$(HARNESS)/unpack.sh $(KVER) $(PRISTINE)

tree: $(if $(KERNEL_SRC),,$(PRISTINE)/Makefile)
	@$(HARNESS)/tree.sh $(BASE) $(TREE) $(CURDIR)

print-tree:
	@echo $(TREE)

KCONFIG		?= $(HARNESS)/test-kernel.config
config: tree
	@$(HARNESS)/config.sh $(TREE) $(BUILD) $(KCONFIG)

kernel: config
	+$(KMAKE) bzImage modules
	@rm -rf $(MODROOT)
	+@$(KMAKE) -s modules_install INSTALL_MOD_PATH=$(MODROOT)
	@echo "  KERNEL  $(BUILD)/arch/x86/boot/bzImage"

# The guest that Debian's QEMU live-migrates inside the test VM.
nested: tree
	@$(HARNESS)/nested.sh $(TREE) $(BUILD)-nested

selftests: kernel
	@$(HARNESS)/selftests.sh $(BUILD)

qemu:
	@tools/qemu/build.sh

kunit: kernel qemu
	@$(HARNESS)/kunit.sh $(TREE) $(BUILD) $(MODROOT) $(LOGS)

lint: config
	@$(HARNESS)/lint.sh $(TREE) $(BUILD) $(CURDIR)

patches: $(if $(KERNEL_SRC),,$(PRISTINE)/Makefile)
	@$(HARNESS)/patches.sh $(BASE) $(CURDIR) $(CACHE)/patches

demo: deps kernel qemu selftests nested
	@$(HARNESS)/demo.sh $(BUILD) $(MODROOT) $(LOGS)

# The benchmark's kernel: the test kernel without its debug options, which
# multiply the cost of every allocation, lock and memory access.
BENCH_BUILD	:= $(BUILD)-bench
bench: deps kernel qemu selftests
	@mkdir -p $(BENCH_BUILD)
	@sed '/^# The debug options/,$$d' $(HARNESS)/test-kernel.config \
		> $(BENCH_BUILD)/bench-kernel.config
	+@$(MAKE) --no-print-directory kernel BUILD=$(BENCH_BUILD) \
		KCONFIG=$(BENCH_BUILD)/bench-kernel.config
	@$(HARNESS)/bench.sh $(BENCH_BUILD) $(BENCH_BUILD)-modroot \
		$(BUILD)/nvfio-selftests $(LOGS)

check: deps kernel qemu nested
	@$(HARNESS)/check.sh $(TREE) $(BUILD) $(MODROOT) $(LOGS) $(CURDIR)

# The long run of the stock-qemu VM test: 40 migrations take 15 to 25
# minutes under TCG, too long for check's budget. run-tests.sh, as in check,
# turns any FAIL line into the exit status.
soak: deps kernel qemu selftests nested
	@$(HARNESS)/vm.sh -k $(BUILD)/arch/x86/boot/bzImage -M $(MODROOT) \
		-o $(LOGS)/soak -t 3000 -- \
		env NVFIO_ROUNDS=20 NVFIO_TEST_LIMIT=2400 \
		$(HARNESS)/guest/run-tests.sh $(HARNESS)/tests/stock-qemu.sh

clean-cache:
	rm -rf $(TREE) $(BUILD) $(BUILD)-nested $(BENCH_BUILD) $(BENCH_BUILD)-modroot \
		$(MODROOT) $(LOGS) $(CACHE)/patches
