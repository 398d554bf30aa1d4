"""twinsock as a ROMFS image (MicroPython 1.25+): .mpy bytecode that runs in place
from a ROM partition in flash instead of being loaded into the heap.

    python -m tools.hil.romfs build [-o build/romfs/twinsock.romfs]
    python -m tools.hil.romfs deploy [--port PORT]     # `make deploy ROMFS=1 [PORT=...]`

The image is built by `mpremote romfs build` from the one file list
(tools/hil/filelist.py), compiled with mpy-cross and staged as lib/<package>/...:
mounted at /rom, the packages sit in /rom/lib, which boards put on sys.path. A
board with a ROM partition gets it with `mpremote romfs deploy`. Stock rp2 and
esp32 firmware have none (see docs/BENCHMARKS.md, "Deployment forms"). The
emulated board has no flash to map either: its stand-in ROM partition is the file
/.romfs.img of its flash, which its boot script mounts at /rom (its supervisor
enlarges the heap by the image's size, since the unix port holds the image in the
heap)."""

import argparse
import os
import subprocess
import sys
import tempfile

from .filelist import REPO_ROOT, board_files
from .packaging import mpy_cross

BUILD_DIR = os.path.join(REPO_ROOT, "build", "romfs")
IMAGE = os.path.join(BUILD_DIR, "twinsock.romfs")
EMULATED_ROM_FILE = "/.romfs.img"  # keep in step with boards/unix/boot.py
MPREMOTE_TIMEOUT_S = 120


def mpremote(*args, timeout=MPREMOTE_TIMEOUT_S):
    command = [sys.executable, "-m", "mpremote"] + list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def stage(files, directory):
    """Compile the board files into directory/lib/<package>/....mpy, the layout of /rom.
    Compiled here with the source named as on the board (`-s twinsock/net.py`, as
    deploy and build/mip do), not by `romfs build`, which would record the staging
    directory's temporary path in every .mpy (tracebacks, image size, reproducibility)."""
    for board_file in files:
        relative = board_file.relative[:-3] + ".mpy"
        target = os.path.join(directory, "lib", *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        subprocess.run(
            [mpy_cross(), "-o", target, "-s", board_file.relative, board_file.source],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def build_image(output=IMAGE, files=None):
    """Build the ROMFS image with `mpremote romfs build`; returns its path."""
    files = board_files() if files is None else files
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twinsock-romfs-") as staging:
        stage(files, staging)
        built = mpremote("romfs", "--mpy", "--output", output, "build", staging)
    if built.returncode != 0 or not os.path.exists(output):
        raise RuntimeError("mpremote romfs build failed: %s" % (built.stderr or built.stdout))
    return output


def has_rom_partition(port):
    probe = mpremote("connect", port, "exec", "import vfs; print(hasattr(vfs, 'rom_ioctl'))")
    if probe.returncode != 0:
        raise RuntimeError("no raw REPL on %s: %s" % (port, probe.stderr.strip()))
    return probe.stdout.strip() == "True"


def is_emulated(port):
    probe = mpremote("connect", port, "exec", "import sys; print(sys.platform)")
    return probe.returncode == 0 and probe.stdout.strip() == "linux"


def deploy(port, image=IMAGE):
    """Put the image into the board's ROM partition (the emulated board: its stand-in
    file) and soft-reset so that /rom is mounted. Returns a line saying what was done."""
    size = os.path.getsize(image)
    if has_rom_partition(port):
        done = mpremote("connect", port, "romfs", "deploy", image, "+", "soft-reset")
        where = "ROM partition"
    elif is_emulated(port):
        done = mpremote("connect", port, "cp", image, ":" + EMULATED_ROM_FILE, "+", "soft-reset")
        where = "emulated ROM partition (%s)" % EMULATED_ROM_FILE
    else:
        raise RuntimeError(
            "the firmware on %s has no ROM partition (vfs.rom_ioctl): stock rp2 and esp32 "
            "firmware need a build with one, see docs/BENCHMARKS.md" % port
        )
    if done.returncode != 0:
        raise RuntimeError("romfs deploy to %s failed: %s" % (port, done.stderr or done.stdout))
    return "%d-byte ROMFS image deployed to the %s of %s" % (size, where, port)


def loaded_from_rom(port):
    """(twinsock's file on the board, free heap after import twinsock)."""
    script = "import gc, twinsock; gc.collect(); print(twinsock.__file__); print(gc.mem_free())"
    ran = mpremote("connect", port, "exec", script)
    if ran.returncode != 0:
        raise RuntimeError("import twinsock on %s failed: %s" % (port, ran.stderr.strip()))
    path, free = ran.stdout.split()
    return path, int(free)


def command_deploy(args):
    image = build_image(args.output)
    if args.port:
        print(deploy(args.port, image))
        path, free = loaded_from_rom(args.port)
        print("twinsock imports from %s; %d B heap free after import" % (path, free))
        return 0
    from .emulated import EmulatedBoard

    emulated = EmulatedBoard().start()
    try:
        print(deploy(emulated.port, image))
        path, free = loaded_from_rom(emulated.port)
        print("twinsock imports from %s; %d B heap free after import" % (path, free))
    finally:
        emulated.stop()
    print("(no PORT given: that was a throwaway emulated board, now stopped)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.hil.romfs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the ROMFS image")
    deploy_parser = commands.add_parser("deploy", help="build it and deploy it to a board")
    deploy_parser.add_argument("--port", help="mpremote port (default: a throwaway emulated board)")
    for sub in (build, deploy_parser):
        sub.add_argument("-o", "--output", default=IMAGE, help="image path (%(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print("%s: %d bytes" % (build_image(args.output), os.path.getsize(args.output)))
            return 0
        return command_deploy(args)
    except RuntimeError as e:
        print("romfs: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
