"""Benchmark of the set-up: from a fresh clone to the first page `make run` serves.

Clones this repository's HEAD into a temporary directory, runs `make run` there on a spare port and
times until `GET /accounts/login/` answers 200 (make's output goes to a log, printed on failure).
`--cold` gives uv an empty cache (as on a machine that never installed these packages); otherwise uv
reuses its usual cache, as a developer's second clone would. The goal (issue #13) is 30 s or less.

Exits 1 if the page never answers within `--timeout` seconds. See bench/README.md.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 30


def main() -> int:
    args = parse_args()
    port = args.port or spare_port()
    with tempfile.TemporaryDirectory(prefix="first-page-") as scratch:
        clone = Path(scratch) / "portal"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = os.environ | {"PORT": str(port)}
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "VIRTUAL_ENV"):
            env.pop(name, None)  # the embedded defaults, as on a fresh machine
        if args.cold:
            env["UV_CACHE_DIR"] = str(Path(scratch) / "uv-cache")
        started = time.monotonic()
        log = Path(scratch) / "make-run.log"
        with log.open("w") as output:
            run = subprocess.Popen(
                ["make", "run"],
                cwd=clone,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so the web server, worker and beat stop with it
            )
        try:
            seconds = wait_for_page(f"http://127.0.0.1:{port}/accounts/login/", started, args.timeout, run)
            if seconds is None:
                print(log.read_text()[-4000:], file=sys.stderr)
        finally:
            os.killpg(run.pid, signal.SIGINT)
            try:
                run.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
    if seconds is None:
        print(f"FAIL: no page within {args.timeout} s", file=sys.stderr)
        return 1
    cache = "an empty uv cache" if args.cold else "uv's usual cache"
    verdict = "met" if seconds <= GOAL_SECONDS else "NOT met"
    print(f"fresh clone to first page with {cache}: {seconds:.1f} s (goal ≤ {GOAL_SECONDS} s: {verdict})")
    return 0


def wait_for_page(url: str, started: float, timeout: float, run: subprocess.Popen) -> float | None:
    while time.monotonic() - started < timeout:
        if run.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return None


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="give uv an empty cache")
    parser.add_argument("--port", type=int, help="port for make run (default: a spare one)")
    parser.add_argument("--timeout", type=float, default=300)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
