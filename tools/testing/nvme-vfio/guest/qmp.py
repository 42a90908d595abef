#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Talk to a QEMU over QMP from inside the test VM.

vm.sh connects a QMP monitor of the VM's own QEMU to the virtio serial port
org.nvfio.qmp. The patched NVMe model exposes fault injection and command
counters as QOM properties; the guest tests read and set them with this
tool. With NVFIO_QMP_PORT set to the path of a UNIX socket, it talks to a
QEMU started inside the VM instead (guest/stock-qemu.py).

usage: qmp.py qom-get PATH PROPERTY
       qmp.py qom-set PATH PROPERTY JSON_VALUE
       qmp.py qom-list PATH
       qmp.py COMMAND [JSON_ARGUMENTS]

Prints the "return" member as JSON; exits 1 with the error on stderr when
QEMU answers with an error.
"""

import json
import os
import socket
import stat
import sys

PORT = "/dev/virtio-ports/org.nvfio.qmp"


class Qmp:
    """A QMP session over a character device or a UNIX socket, one JSON
    object per line."""

    def __init__(self, path=PORT):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)
            self.fd = self.sock.fileno()
        else:
            self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self.buf = b""
        self.next_id = 0
        # The monitor stays connected across guest sessions: the greeting
        # may have been read by an earlier one, and capabilities negotiated.
        self.execute("qmp_capabilities", allow_error=True)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise EOFError("QMP port closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.strip()

    def execute(self, cmd, args=None, allow_error=False):
        self.next_id += 1
        tag = "nvfio-%d-%d" % (os.getpid(), self.next_id)
        req = {"execute": cmd, "id": tag}
        if args:
            req["arguments"] = args
        os.write(self.fd, (json.dumps(req) + "\n").encode())
        while True:
            line = self._line()
            if not line:
                continue
            msg = json.loads(line)
            if msg.get("id") != tag:
                continue  # the greeting, events, stale answers
            if "error" in msg:
                if allow_error:
                    return None
                raise RuntimeError("%s: %s" % (cmd, msg["error"].get("desc")))
            return msg.get("return")


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    qmp = Qmp(os.environ.get("NVFIO_QMP_PORT", PORT))
    cmd, rest = argv[1], argv[2:]
    if cmd == "qom-get" and len(rest) == 2:
        args = {"path": rest[0], "property": rest[1]}
    elif cmd == "qom-set" and len(rest) == 3:
        args = {"path": rest[0], "property": rest[1], "value": json.loads(rest[2])}
    elif cmd == "qom-list" and len(rest) == 1:
        args = {"path": rest[0]}
    elif len(rest) <= 1:
        args = json.loads(rest[0]) if rest else None
    else:
        sys.stderr.write(__doc__)
        return 2
    try:
        print(json.dumps(qmp.execute(cmd, args)))
    except RuntimeError as err:
        print("qmp: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
