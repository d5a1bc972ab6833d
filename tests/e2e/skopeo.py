"""Build tiny OCI images on disk and drive the real skopeo against a registry (no Docker engine)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKOPEO_BINARY = "skopeo"
CLEAN_PATH = "/usr/bin:/bin"
INSTALL_HINT = "run scripts/setup-test-env.sh as root (or `make test`) to install it"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

Credentials = tuple[str, str]


class SkopeoError(RuntimeError):
    """skopeo is missing, timed out, or (with check=True) failed; carries stderr."""

    def __init__(self, message: str, result: SkopeoResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# --- OCI image layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OciImage:
    """One tagged image in an OCI layout directory, with the digests of its parts."""

    layout_dir: Path
    tag: str
    manifest_digest: str
    manifest_size: int
    config_digest: str
    layer_digest: str
    layer_size: int

    @property
    def reference(self) -> str:
        """The skopeo source reference, `oci:DIR:TAG`."""
        return f"oci:{self.layout_dir}:{self.tag}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_blob(layout_dir: Path, data: bytes) -> str:
    digest = _sha256(data)
    blob = layout_dir / "blobs" / "sha256" / digest.removeprefix("sha256:")
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    return digest


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _layer_tar(filename: str, content: bytes) -> bytes:
    """An uncompressed tar with one file; fixed metadata so equal content gives equal digests."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(filename)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def build_oci_image(
    layout_dir: Path,
    content: bytes | str,
    *,
    tag: str = "latest",
    filename: str = "hello.txt",
) -> OciImage:
    """Write (or add a tag to) an OCI layout holding a one-layer image with `filename`=`content`.

    Different content gives different layer, config and manifest digests. The same layout can
    hold several tags; writing an existing tag replaces it in index.json.
    """
    data = content.encode() if isinstance(content, str) else content
    layout_dir.mkdir(parents=True, exist_ok=True)

    tar = _layer_tar(filename, data)
    layer = gzip.compress(tar, mtime=0)
    layer_digest = _write_blob(layout_dir, layer)
    config = _json_bytes(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [_sha256(tar)]},
        }
    )
    config_digest = _write_blob(layout_dir, config)
    manifest = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer)}],
        }
    )
    manifest_digest = _write_blob(layout_dir, manifest)

    index_path = layout_dir / "index.json"
    index: dict[str, Any] = {"schemaVersion": 2, "manifests": []}
    if index_path.exists():
        index = json.loads(index_path.read_text())
    index["manifests"] = [
        entry
        for entry in index["manifests"]
        if entry.get("annotations", {}).get(REF_NAME_ANNOTATION) != tag
    ] + [
        {
            "mediaType": OCI_MANIFEST,
            "digest": manifest_digest,
            "size": len(manifest),
            "annotations": {REF_NAME_ANNOTATION: tag},
        }
    ]
    index_path.write_text(json.dumps(index, indent=1))
    (layout_dir / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return OciImage(
        layout_dir=layout_dir,
        tag=tag,
        manifest_digest=manifest_digest,
        manifest_size=len(manifest),
        config_digest=config_digest,
        layer_digest=layer_digest,
        layer_size=len(layer),
    )


def read_image_file(layout_dir: Path, filename: str, *, tag: str = "latest") -> bytes:
    """The content of `filename` in the first layer of `tag`, e.g. after a pull into a layout."""
    index = json.loads((layout_dir / "index.json").read_text())
    entries = [
        entry
        for entry in index["manifests"]
        if entry.get("annotations", {}).get(REF_NAME_ANNOTATION) == tag
    ]
    if not entries:
        raise KeyError(f"tag {tag!r} not in {layout_dir}/index.json")
    manifest = json.loads(_read_blob(layout_dir, entries[0]["digest"]))
    layer = _read_blob(layout_dir, manifest["layers"][0]["digest"])
    # "r:*" because a pulled layer may come back compressed or not, depending on the source.
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as tar:
        member = tar.extractfile(filename)
        if member is None:
            raise KeyError(f"{filename!r} is not a regular file in the layer")
        return member.read()


def _read_blob(layout_dir: Path, digest: str) -> bytes:
    algorithm, _, hexdigest = digest.partition(":")
    return (layout_dir / "blobs" / algorithm / hexdigest).read_bytes()


# --- skopeo -------------------------------------------------------------------------------------


def docker_reference(host: str, repository: str, reference: str | None = None) -> str:
    """`docker://HOST/REPO`, with `:TAG`, or `@sha256:…` when reference is a digest."""
    ref = f"docker://{host}/{repository}"
    if reference is None:
        return ref
    separator = "@" if ":" in reference else ":"
    return f"{ref}{separator}{reference}"


def write_identitytoken_authfile(path: Path, host: str, token: str, username: str = "") -> Path:
    """An authfile as `docker login` leaves it when the token service returned a refresh_token.

    With it, skopeo asks for tokens by `POST <realm>` with grant_type=refresh_token. The `auth`
    field (base64 of "USER:", empty password) is needed too: containers/image ignores an entry
    whose `auth` does not decode to "user:password", identitytoken included.
    """
    auth = base64.b64encode(f"{username}:".encode()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {host: {"auth": auth, "identitytoken": token}}}))
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class SkopeoResult:
    """What one skopeo run did."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> Any:
        """stdout parsed as JSON (inspect, list-tags)."""
        return json.loads(self.stdout)

    def check(self) -> SkopeoResult:
        """Raise SkopeoError (with stderr) unless skopeo exited 0; return self otherwise."""
        if self.returncode != 0:
            raise SkopeoError(
                f"skopeo {' '.join(self.args)} exited {self.returncode}:\n{self.stderr.strip()}",
                self,
            )
        return self


class Skopeo:
    """Runs skopeo hermetically: own policy, registries.conf, empty HOME and explicit authfile."""

    def __init__(self, workdir: Path, *, timeout: float = 60.0, debug: bool = False) -> None:
        found = shutil.which(SKOPEO_BINARY, path=CLEAN_PATH)
        if found is None:
            raise SkopeoError(f"{SKOPEO_BINARY} not found on {CLEAN_PATH}: {INSTALL_HINT}")
        self.binary = found
        self.workdir = workdir
        self.timeout = timeout
        self.debug = debug
        workdir.mkdir(parents=True, exist_ok=True)
        # Accept unsigned images, without depending on /etc/containers/policy.json.
        self.policy_path = workdir / "policy.json"
        self.policy_path.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        # An empty registries.conf and HOME keep the machine's and user's settings out.
        self.registries_conf = workdir / "registries.conf"
        self.registries_conf.write_text("")
        self.home = workdir / "home"
        self.home.mkdir(exist_ok=True)
        # Without --authfile skopeo would read ~/.docker/config.json and friends: anonymous
        # requests get this empty one.
        self.empty_authfile = workdir / "empty-auth.json"
        self.empty_authfile.write_text(json.dumps({"auths": {}}))

    def run(
        self, *args: str, check: bool = False, timeout: float | None = None
    ) -> SkopeoResult:
        """Run `skopeo --policy … ARGS`; a timeout raises SkopeoError with what it printed."""
        argv = [self.binary, "--policy", str(self.policy_path)]
        if self.debug:
            argv.append("--debug")
        argv.extend(args)
        env = {
            "PATH": CLEAN_PATH,
            "HOME": str(self.home),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        }
        limit = self.timeout if timeout is None else timeout
        started = time.monotonic()
        try:
            completed = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise SkopeoError(
                f"skopeo {' '.join(args)} timed out after {limit}s; stderr:\n{_text(e.stderr)}"
            ) from None
        result = SkopeoResult(
            args=list(args),
            returncode=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            seconds=time.monotonic() - started,
        )
        return result.check() if check else result

    def _auth_args(
        self, flag: str, creds: Credentials | None, authfile: Path | None
    ) -> list[str]:
        """--creds-like flag, or an authfile; anonymous uses the empty authfile."""
        args = ["--authfile", str(authfile or self.empty_authfile)]
        if creds is not None:
            args += [flag, f"{creds[0]}:{creds[1]}"]
        return args

    def copy(
        self,
        source: str,
        destination: str,
        *,
        src_creds: Credentials | None = None,
        dest_creds: Credentials | None = None,
        authfile: Path | None = None,
        manifest_format: str | None = None,
        extra_args: Sequence[str] = (),
        check: bool = False,
    ) -> SkopeoResult:
        """`skopeo copy` between any two references; TLS verification off on both ends."""
        args = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false"]
        args += self._auth_args("--src-creds", src_creds, authfile)
        if dest_creds is not None:
            args += ["--dest-creds", f"{dest_creds[0]}:{dest_creds[1]}"]
        if manifest_format is not None:
            args += ["--format", manifest_format]
        args += [*extra_args, source, destination]
        return self.run(*args, check=check)

    def push(
        self,
        image: OciImage,
        host: str,
        repository: str,
        tag: str | None = None,
        *,
        creds: Credentials | None = None,
        authfile: Path | None = None,
        manifest_format: str | None = None,
        check: bool = False,
    ) -> SkopeoResult:
        """Push an OCI layout image to HOST/REPO:TAG (default: the image's tag).

        manifest_format="v2s2" converts to a Docker schema 2 manifest on the way.
        """
        return self.copy(
            image.reference,
            docker_reference(host, repository, tag or image.tag),
            dest_creds=creds,
            authfile=authfile,
            manifest_format=manifest_format,
            check=check,
        )

    def pull(
        self,
        host: str,
        repository: str,
        reference: str,
        layout_dir: Path,
        *,
        tag: str = "latest",
        creds: Credentials | None = None,
        authfile: Path | None = None,
        check: bool = False,
    ) -> SkopeoResult:
        """Copy HOST/REPO:REF (tag or digest) into the OCI layout `layout_dir` as `tag`."""
        layout_dir.mkdir(parents=True, exist_ok=True)
        return self.copy(
            docker_reference(host, repository, reference),
            f"oci:{layout_dir}:{tag}",
            src_creds=creds,
            authfile=authfile,
            check=check,
        )

    def inspect(
        self,
        host: str,
        repository: str,
        reference: str = "latest",
        *,
        creds: Credentials | None = None,
        authfile: Path | None = None,
        raw: bool = False,
        config: bool = False,
        check: bool = False,
    ) -> SkopeoResult:
        """`skopeo inspect`; `.json()` on the result gives the parsed output.

        raw=True prints the manifest as stored, config=True the image config.
        """
        args = ["inspect", "--tls-verify=false", *self._auth_args("--creds", creds, authfile)]
        if raw:
            args.append("--raw")
        if config:
            args.append("--config")
        args.append(docker_reference(host, repository, reference))
        return self.run(*args, check=check)

    def list_tags(
        self,
        host: str,
        repository: str,
        *,
        creds: Credentials | None = None,
        authfile: Path | None = None,
        check: bool = False,
    ) -> SkopeoResult:
        """`skopeo list-tags`; `.json()["Tags"]` is the list of tags."""
        args = ["list-tags", "--tls-verify=false", *self._auth_args("--creds", creds, authfile)]
        args.append(docker_reference(host, repository))
        return self.run(*args, check=check)

    def delete(
        self,
        host: str,
        repository: str,
        reference: str,
        *,
        creds: Credentials | None = None,
        authfile: Path | None = None,
        check: bool = False,
    ) -> SkopeoResult:
        """`skopeo delete` of a tag or digest: deletes the manifest, so every tag pointing at it."""
        args = ["delete", "--tls-verify=false", *self._auth_args("--creds", creds, authfile)]
        args.append(docker_reference(host, repository, reference))
        return self.run(*args, check=check)


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode(errors="replace")
