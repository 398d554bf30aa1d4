"""Start the MicroPython unix interpreter inside a root filesystem of its own.

Run by the supervisor as
    unshare --mount --propagation private python3 sandbox.py --root R --flash F -- CMD...
so every mount below lives in a private mount namespace and vanishes with the process.

Why: the unix port's filesystem is the host's `/`; `mpremote rm -r :/` against an
unsandboxed interpreter deletes host files. Inside the sandbox the interpreter sees:
  - a small tmpfs as `/` (read-only once built),
  - read-only binds of what the interpreter needs to start (/usr, /etc, its own prefix),
  - `/flash`: the board's writable filesystem (a host directory owned by the board),
and it runs as an unprivileged user, so it can neither remount nor chroot out.
The boot script then mounts `/flash` as MicroPython's `/`, like a board's flash.
"""

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys

BOARD_UID = 65534  # nobody: no capabilities, owns nothing on the host but /flash
MOUNT_TIMEOUT_S = 5
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def run_mount(*args):
    subprocess.run(("mount",) + args, check=True, timeout=MOUNT_TIMEOUT_S)


def bind(source, target, read_only):
    run_mount("--bind", source, target)
    if read_only:
        run_mount("-o", "remount,bind,ro", target)


def add_host_path(root, host_path):
    """Make host_path visible read-only at the same place inside root."""
    inside = os.path.join(root, host_path.lstrip("/"))
    if os.path.lexists(inside):
        return
    if os.path.islink(host_path) and os.path.dirname(host_path) == "/":
        # merged-/usr systems: /bin -> usr/bin and friends are symlinks, keep them so
        os.symlink(os.readlink(host_path), inside)
        return
    if os.path.isdir(host_path):
        os.makedirs(inside)
    else:
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        open(inside, "w").close()
    bind(host_path, inside, read_only=True)


def build_root(root, flash, host_paths, boot_script):
    run_mount("-t", "tmpfs", "-o", "size=4m,mode=755", "board-root", root)
    for path in host_paths:
        if os.path.lexists(path):
            add_host_path(root, path)
    for device in DEVICES:
        if os.path.exists(device):
            add_host_path(root, device)
    os.makedirs(os.path.join(root, "boot"))
    shutil.copyfile(boot_script, os.path.join(root, "boot", "boot.py"))
    os.makedirs(os.path.join(root, "flash"))
    os.chown(flash, BOARD_UID, BOARD_UID)
    bind(flash, os.path.join(root, "flash"), read_only=False)
    run_mount("-o", "remount,ro", root)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid):
    """SIGKILL this process when parent_pid (the supervisor) dies, by any signal: no
    interpreter outlives its board. The kernel forgets this setting when credentials
    change (setuid, a new user namespace), so it is set again after each such step."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent_pid:
        os._exit(1)  # the supervisor died before the setting took: go too


def drop_privileges():
    if os.geteuid() != 0:
        return  # started through `unshare -r`: already confined to the user's own rights
    os.setgroups([])
    os.setgid(BOARD_UID)
    os.setuid(BOARD_UID)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="empty host directory to mount / over")
    parser.add_argument("--flash", required=True, help="host directory: the board's flash")
    parser.add_argument("--boot", required=True, help="boot script, copied to /boot/boot.py")
    parser.add_argument("--host-path", action="append", default=[], help="read-only bind")
    parser.add_argument(
        "--parent-pid", type=int, help="die when this process (the supervisor) dies"
    )
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    build_root(args.root, args.flash, args.host_path, args.boot)
    os.chroot(args.root)
    os.chdir("/flash")  # relative paths land in the flash, as on a board
    drop_privileges()
    if args.parent_pid:
        die_with_parent(args.parent_pid)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "MICROPYPATH": ".frozen:/lib"}
    os.execve(args.command[0], args.command, env)


if __name__ == "__main__":
    sys.exit(main())
