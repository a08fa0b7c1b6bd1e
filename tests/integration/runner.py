"""The entry point every integration test shares: `--build DIR`, a skip without
root, a clear message when a binary is missing, and a World set up, tested and
closed again whatever happens (SIGTERM from ctest's timeout included)."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Callable

SKIP = 77  # ctest SKIP_RETURN_CODE


def run_test(doc: str, binaries: tuple[str, ...], make_world: Callable, test: Callable,
             failure: type[Exception], on_failure: Callable | None = None) -> int:
    """Runs `test(world)` on `make_world(build_dir)`; returns the exit code. The
    first line of `doc` describes the test in --help; `on_failure(world)`, when
    given, prints what helps to read a failure (a log)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--build", required=True, help="the CMake build directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces, XDP, bpffs)")
        return SKIP
    for binary in binaries:
        if not os.path.exists(os.path.join(args.build, binary)):
            print(f"missing {binary} in {args.build}: build it first", file=sys.stderr)
            return 1

    world = make_world(os.path.abspath(args.build))
    # ctest stops a test that runs too long with SIGTERM first: clean up then too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        world.setup()
        test(world)
        print("ok")
        return 0
    except (failure, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        if on_failure:
            on_failure(world)
        return 1
    finally:
        world.close()
