"""Run a real Docker Distribution registry (Debian's docker-registry 2.8) for end-to-end tests."""

from __future__ import annotations

import contextlib
import http.client
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import yaml

REGISTRY_BINARY = "docker-registry"
# The registry reads REGISTRY_* variables as config overrides, so it gets only this PATH.
CLEAN_PATH = "/usr/bin:/bin"
INSTALL_HINT = "run scripts/setup-test-env.sh as root (or `make test`) to install it"


class RegistryError(RuntimeError):
    """The registry could not be found, configured or started."""


def find_registry_binary(name: str = REGISTRY_BINARY) -> Path:
    """The registry executable on the clean PATH; a missing one is an error, never a skip."""
    found = shutil.which(name, path=CLEAN_PATH)
    if found is None:
        raise RegistryError(f"{name} not found on {CLEAN_PATH}: {INSTALL_HINT}")
    return Path(found)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (start() retries if it is taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def registry_config(
    *,
    port: int,
    storage_dir: Path,
    realm: str,
    service: str,
    issuer: str,
    rootcertbundle: Path,
    notification_url: str | None = None,
    notification_secret: str | None = None,
    include_references: bool = True,
    log_level: str = "info",
) -> dict[str, object]:
    """The registry's config.yml as a dict: loopback only, filesystem storage, token auth."""
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": log_level, "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        "auth": {
            "token": {
                "realm": realm,
                "service": service,
                "issuer": issuer,
                "rootcertbundle": str(rootcertbundle),
            }
        },
    }
    if notification_url is not None:
        endpoint: dict[str, object] = {
            "name": "wharfinger",
            "url": notification_url,
            "timeout": "2s",
            "threshold": 5,
            "backoff": "1s",
        }
        if notification_secret is not None:
            # Header values must be lists in the registry's config.
            endpoint["headers"] = {"Authorization": [f"Bearer {notification_secret}"]}
        config["notifications"] = {
            # Manifest events then carry their config and layer descriptors (target.references);
            # 2.8 leaves them out unless asked.
            "events": {"includereferences": include_references},
            "endpoints": [endpoint],
        }
    return config


class RegistryProcess:
    """A running docker-registry on 127.0.0.1; stop() it (or use it as a context manager)."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        workdir: Path,
        config_path: Path,
        log_path: Path,
        storage_dir: Path,
    ) -> None:
        self.process = process
        self.port = port
        self.workdir = workdir
        self.config_path = config_path
        self.log_path = log_path
        self.storage_dir = storage_dir

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the name clients use for this registry (and in image references)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        realm: str,
        service: str,
        issuer: str,
        rootcertbundle: Path,
        notification_url: str | None = None,
        notification_secret: str | None = None,
        include_references: bool = True,
        log_level: str = "info",
        startup_timeout: float = 10.0,
        port: int | None = None,
    ) -> RegistryProcess:
        """Start a registry with its config, storage and log in workdir; return once it answers.

        `GET /v2/` must answer 401 with a Bearer challenge, which proves token auth is active.
        `port` fixes the port (when the registry's address must be known before it starts).
        """
        binary = find_registry_binary()
        workdir.mkdir(parents=True, exist_ok=True)
        storage_dir = workdir / "storage"
        storage_dir.mkdir(exist_ok=True)
        config_path = workdir / "config.yml"
        log_path = workdir / "registry.log"
        # free_port() can race with another process grabbing the port before the registry binds.
        attempts = 3 if port is None else 1
        for attempt in range(1, attempts + 1):
            chosen = port or free_port()
            config = registry_config(
                port=chosen,
                storage_dir=storage_dir,
                realm=realm,
                service=service,
                issuer=issuer,
                rootcertbundle=rootcertbundle,
                notification_url=notification_url,
                notification_secret=notification_secret,
                include_references=include_references,
                log_level=log_level,
            )
            config_path.write_text(yaml.safe_dump(config, sort_keys=False))
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [str(binary), "serve", str(config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={"PATH": CLEAN_PATH},
                    cwd=workdir,
                )
            registry = cls(process, chosen, workdir, config_path, log_path, storage_dir)
            try:
                registry._wait_ready(startup_timeout)
            except RegistryError:
                registry.stop()
                if attempt < attempts and "address already in use" in registry.log_text():
                    continue
                raise
            return registry
        raise AssertionError("unreachable")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RegistryError(
                    f"docker-registry exited with {code} during startup; log tail:\n"
                    f"{self.log_tail()}"
                )
            try:
                status, challenge = self._ping()
            except OSError as e:
                last_error = str(e)
                time.sleep(0.02)
                continue
            if status == 401 and challenge.lower().startswith("bearer "):
                return
            raise RegistryError(
                f"GET {self.url}/v2/ answered {status} ({challenge!r}), expected a 401 Bearer "
                f"challenge; log tail:\n{self.log_tail()}"
            )
        raise RegistryError(
            f"docker-registry not answering on {self.host} after {timeout}s ({last_error}); "
            f"log tail:\n{self.log_tail()}"
        )

    def _ping(self) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/v2/")
            response = conn.getresponse()
            response.read()
            return response.status, response.getheader("WWW-Authenticate", "")
        finally:
            conn.close()

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds; return the exit code. Idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_text(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> RegistryProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
