#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Live-migrate a nested guest that owns an NVMe VF with Debian's own QEMU,
inside the test VM: QEMU's VFIO migration code is the client of
nvme-vfio-pci, exactly as on a hypervisor.

A guest starts on VF A (-device vfio-pci,enable-migration=on, legacy VFIO
container); a second QEMU waits on VF B with -incoming; the guest migrates
to it over a local UNIX socket, then back to a new QEMU on VF A, and so on.

The container, not iommufd: neither the VF nor the VM's emulated IOMMU
tracks the guest memory the VF writes, and QEMU 10.0 then copies only the
pages the guest's CPUs dirtied when the backend is iommufd; the VF's
completions and read data written after a page's last copy are lost. The
type1 container reports every mapped page dirty instead. The MSI-X table
moves to an emulated BAR (x-msix-relocation) so that QEMU does not ask
type1 for the dirty bitmap of a sub-page piece of BAR 0, which fails.

usage: stock-qemu.py [-r ROUNDS] [-k KERNEL] [-i INITRD] [-m MEM] VF_A VF_B
  -r ROUNDS  round trips A -> B -> A (default 20)
  -k KERNEL  the guest's kernel (default: the nested.sh build next to the
             test kernel's, $NVFIO_BUILD-nested/arch/x86/boot/bzImage)
  -i INITRD  its initramfs (default: $NVFIO_BUILD-nested/nested-initramfs.cpio.gz),
             whose init runs blkcheck on the VF's namespace
  -m MEM     guest memory (default 128M)

The guest's console is watched for I/O errors and timeouts (the kernel
logs warnings there), and for new progress of blkcheck after each switch.

Environment: STOCK_QEMU (default /usr/bin/qemu-system-x86_64, 10.0 or
newer), NVFIO_OUT (where the consoles and QEMU logs are kept).

Prints a line per migration with QEMU's figures from query-migrate and the
PF's Migration Send/Receive commands it took (the patched model's counters,
read over the VM's own QMP port), where the wall-clock time went,
PASS:/FAIL: lines and a downtime summary.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from qmp import PORT, Qmp  # noqa: E402

PF = "/machine/peripheral/nvme0"
PROGRESS = re.compile(r"^blkcheck: \d+ blocks.*$", re.M)
TROUBLE = re.compile(r"blkcheck: ERROR.*|.*I/O error.*|.*nvme.*timeout.*|.*Call Trace.*")


class Failure(Exception):
    pass


class Nested:
    """One QEMU process running the guest, and its QMP monitor."""

    def __init__(self, opts, name, vf, extra=()):
        self.name = name
        self.console = os.path.join(opts.logs, name + ".console")
        sock = os.path.join(opts.sock, name + ".qmp")
        cmd = [opts.qemu, "-name", name, "-machine", "q35", "-accel", "tcg",
               "-m", opts.mem, "-nodefaults", "-no-user-config",
               "-display", "none", "-no-reboot",
               "-device", "vfio-pci,host=%s,id=nvmevf,enable-migration=on,"
               "rombar=0,x-msix-relocation=bar2" % vf,
               *opts.guest_args,
               "-chardev", "file,id=con,path=" + self.console,
               "-serial", "chardev:con",
               "-qmp", "unix:%s,server=on,wait=off" % sock, *extra]
        self.vf = vf
        self.sock = sock
        self.qmp = None
        self.log = open(os.path.join(opts.logs, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def connect(self):
        """Wait for QEMU to come up and answer on its QMP monitor."""
        deadline = time.monotonic() + 120
        while True:
            try:
                self.qmp = Qmp(self.sock)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise Failure("QEMU %s on %s did not start: %s" %
                                  (self.name, self.vf, self.tail()))
                time.sleep(0.1)

    def tail(self):
        with open(self.log.name) as f:
            return " / ".join(f.read().strip().splitlines()[-3:])

    def status(self):
        return self.qmp.execute("query-status")["status"]

    def quit(self):
        try:
            self.qmp.execute("quit")
        except (EOFError, OSError):
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("QEMU %s did not quit" % self.name)
        finally:
            self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def checked(self):
        """The guest's console so far; fails on any error the guest printed."""
        try:
            with open(self.console, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        bad = TROUBLE.search(text)
        if bad:
            raise Failure("the guest on %s reported: %s" % (self.name, bad.group(0).strip()))
        return text

    def progressed(self, timeout):
        """Wait for the guest to print a progress line on this QEMU's
        console, that is, after it came here."""
        deadline = time.monotonic() + timeout
        while True:
            if PROGRESS.search(self.checked()):
                return
            if self.proc.poll() is not None:
                raise Failure("QEMU %s exited: %s" % (self.name, self.tail()))
            if time.monotonic() > deadline:
                raise Failure("the guest on %s made no progress within %d s" %
                              (self.name, timeout))
            time.sleep(0.5)


class Counters:
    """The patched NVMe model's Migration Send/Receive counters."""

    def __init__(self):
        try:
            self.qmp = Qmp(PORT)
            self.last = self.read()
        except (OSError, RuntimeError):
            self.qmp = None

    def read(self):
        return tuple(self.qmp.execute("qom-get", {"path": PF, "property": p})
                     for p in ("lm-send-count", "lm-recv-count"))

    def delta(self):
        if not self.qmp:
            return ""
        now = self.read()
        d = (now[0] - self.last[0], now[1] - self.last[1])
        self.last = now
        return "; PF commands: %d Migration Send, %d Migration Receive" % d


def migrate(opts, src, dst, n):
    """Move the guest from @src to @dst; returns query-migrate's figures."""
    uri = "unix:%s/mig%d.sock" % (opts.sock, n)
    dst.qmp.execute("migrate-incoming", {"uri": uri})
    # The VF does no dirty page tracking, and the VM's emulated IOMMU none
    # either: the type1 container then reports all the guest memory it
    # maps as dirty on every pass, so no pass leaves less to copy than the
    # last. Switch over at once (a bandwidth no RAM size outlasts) instead
    # of waiting for a pass that happens to be fast enough: on a loaded
    # machine that took six passes and eight minutes.
    src.qmp.execute("migrate-set-parameters",
                    {"avail-switchover-bandwidth": 1 << 40})
    src.qmp.execute("migrate", {"uri": uri})
    deadline = time.monotonic() + 600
    while True:
        r = src.qmp.execute("query-migrate")
        if r["status"] in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise Failure("migration %d (%s -> %s) did not finish" % (n, src.name, dst.name))
        time.sleep(0.1)
    if r["status"] != "completed":
        raise Failure("migration %d (%s -> %s): %s: %s" %
                      (n, src.name, dst.name, r["status"], r.get("error-desc", "")))
    status = dst.status()
    if status != "running":
        raise Failure("migration %d: the guest on %s is %s" % (n, dst.name, status))
    return r


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return None, ""
    m = re.match(r"QEMU emulator version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None, out.splitlines()[0] if out else ""


def main():
    nested = os.environ.get("NVFIO_BUILD", "") + "-nested"
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("-r", dest="rounds", type=int, default=20)
    ap.add_argument("-k", dest="kernel", default=nested + "/arch/x86/boot/bzImage")
    ap.add_argument("-i", dest="initrd", default=nested + "/nested-initramfs.cpio.gz")
    ap.add_argument("-m", dest="mem", default="128M")
    ap.add_argument("vfs", nargs=2)
    opts = ap.parse_args()
    opts.qemu = os.environ.get("STOCK_QEMU", "/usr/bin/qemu-system-x86_64")

    version, banner = qemu_version(opts.qemu)
    if not version or version < (10, 0):
        print("FAIL: stock-qemu: %s is not QEMU 10.0 or newer (%s): make deps installs "
              "Debian's bookworm-backports build" % (opts.qemu, banner or "not found"))
        return 1
    print("PASS: stock-qemu: %s" % banner)
    if not os.path.isfile(opts.initrd) or not os.path.isfile(opts.kernel):
        print("FAIL: stock-qemu: no guest kernel (%s) or initramfs (%s): make nested"
              % (opts.kernel, opts.initrd))
        return 1
    # noapic: under nested TCG, a level-triggered ISA interrupt can arrive
    # while setup_IO_APIC() is still allocating its pin, and the guest then
    # oopses in io_apic_modify_irq(); the VF's MSI-X does not need the
    # IO-APIC.
    opts.guest_args = ["-kernel", opts.kernel, "-initrd", opts.initrd,
                       "-append", "console=ttyS0 panic=-1 loglevel=5 noapic"]

    # The consoles are read while QEMU writes them: keep them on the VM's
    # own tmpfs (reads of a growing file over 9p can fail with ENODATA) and
    # copy them to the run directory at the end.
    keep = os.path.join(os.environ.get("NVFIO_OUT", "/tmp"), "stock-qemu")
    opts.sock = opts.logs = tempfile.mkdtemp(prefix="stock-qemu.", dir="/tmp")
    print("  guest: %s, %s; QEMU logs and consoles in %s" % (opts.kernel, opts.mem, keep),
          flush=True)

    counters = Counters()
    downtimes = []
    cur = nxt = None
    total = 2 * opts.rounds
    incoming = ["-incoming", "defer"]
    try:
        start = time.monotonic()
        cur = Nested(opts, "q0", opts.vfs[0])
        cur.connect()
        cur.progressed(1200)
        print("  guest up and writing after %.0f s" % (time.monotonic() - start), flush=True)
        nxt = Nested(opts, "q1", opts.vfs[1], incoming)
        for n in range(1, total + 1):
            t0 = time.monotonic()
            nxt.connect()
            t1 = time.monotonic()
            r = migrate(opts, cur, nxt, n)
            t2 = time.monotonic()
            src, cur, nxt = cur, nxt, None
            # Closing the source's VF resets it: count that in this
            # migration. The next destination starts on that VF once it is
            # free, while the guest goes on on this one.
            src.quit()
            src.checked()
            t3 = time.monotonic()
            if n < total:
                nxt = Nested(opts, "q%d" % (n + 1), opts.vfs[(n + 1) % 2], incoming)
            cur.progressed(300)
            downtimes.append(r["downtime"])
            print("  migration %d: %s -> %s: total %d ms, downtime %d ms, setup %d ms, "
                  "device state %d bytes, RAM %d bytes%s" %
                  (n, src.name, cur.name, r["total-time"], r["downtime"], r["setup-time"],
                   r.get("vfio", {}).get("transferred", 0), r["ram"]["transferred"],
                   counters.delta()), flush=True)
            print("    wall clock: waited %.1f s for the destination, migrated in %.1f s, "
                  "source quit in %.1f s, guest I/O went on after %.1f s" %
                  (t1 - t0, t2 - t1, t3 - t2, time.monotonic() - t3), flush=True)
            if n % 2 == 0:
                last = PROGRESS.findall(cur.checked())[-1].strip()
                print("  round trip %d: %s" % (n // 2, last), flush=True)
        cur.checked()
        print("PASS: stock-qemu: %d live migrations (%d round trips) between %s and %s completed"
              % (total, opts.rounds, *opts.vfs))
        print("PASS: stock-qemu: the guest's I/O went on after every switch "
              "with no error and no bad block")
        ok = True
    except (Failure, RuntimeError, OSError, EOFError) as err:
        print("FAIL: stock-qemu: %s" % err)
        ok = False
    finally:
        for q in (cur, nxt):
            if q:
                q.stop()
        shutil.copytree(opts.logs, keep, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.qmp", "*.sock"))
        shutil.rmtree(opts.sock, ignore_errors=True)
    if downtimes:
        d = sorted(downtimes)
        print("  downtime (query-migrate): min %d ms, median %d ms, max %d ms over %d migrations"
              % (d[0], d[(len(d) - 1) // 2], d[-1], len(d)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
