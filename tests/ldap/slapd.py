"""A throwaway OpenLDAP server for tests: slapd on free loopback ports, seeded with a small tree.

It listens on plain LDAP (StartTLS offered) and on LDAPS, with a server certificate signed by a
test CA made with openssl, so encryption is tested against the real thing (setup-notes.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
PEOPLE = f"ou=people,{SUFFIX}"
ADMINS = f"ou=admins,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=wharfinger,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
USER_PASSWORD = "directory pass 1"

# (uid, container, mail) of the seeded people; every one has USER_PASSWORD.
PEOPLE_SEED = (("alice", PEOPLE, "alice@corp.example"), ("bob", PEOPLE, "bob@corp.example"),
               ("carol", PEOPLE, "carol@corp.example"), ("root", ADMINS, "root@corp.example"))
GROUPS_SEED = {"web": ("alice", "bob"), "ops": ("carol",)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], *, input_text: str | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(args, input=input_text, capture_output=True, text=True, timeout=30,
                          check=False, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def make_test_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a CA and a 127.0.0.1/localhost server certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    if cert.exists():
        return ca, cert, key
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj",
          "/CN=Wharfinger test CA"])
    _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost"])
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
          "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)])
    os.chmod(key, 0o644)  # slapd may drop privileges; the key is a throwaway test key
    return ca, cert, key


@dataclass
class Slapd:
    directory: Path
    port: int
    tls_port: int
    ca_file: Path
    pid: int

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, directory: Path, tls_dir: Path, *, tls_priorities: str = "") -> Slapd:
        """`tls_priorities`: a GnuTLS priority string for TLSCipherSuite (Debian's slapd is
        built with GnuTLS), e.g. "NORMAL:-VERS-TLS1.3" for a server stuck at TLS 1.2."""
        ca, cert, key = make_test_ca(tls_dir)
        cipher_suite = f"TLSCipherSuite {tls_priorities}" if tls_priorities else ""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "db").mkdir(exist_ok=True)
        rootpw = _run(["slappasswd", "-s", ADMIN_PASSWORD]).strip()
        (directory / "slapd.conf").write_text(f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {directory}/slapd.pid
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
{cipher_suite}
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {rootpw}
directory {directory}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
        last_error: Exception | None = None
        for _ in range(5):  # another test may grab the free port between probe and bind
            port, tls_port = free_port(), free_port()
            try:
                _run(["slapd", "-f", str(directory / "slapd.conf"), "-h",
                      f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"])
            except RuntimeError as e:
                last_error = e
                continue
            pid = int(_wait_for_file(directory / "slapd.pid").read_text().strip())
            server = cls(directory, port, tls_port, ca, pid)
            server._wait_ready()
            server.seed()
            return server
        raise RuntimeError(f"slapd did not start: {last_error}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.02)
        raise RuntimeError("slapd did not accept connections")

    def ldif(self, text: str, *, modify: bool = False) -> None:
        _run(["ldapmodify" if modify else "ldapadd", "-x", "-H", self.url, "-D", ADMIN_DN,
              "-w", ADMIN_PASSWORD], input_text=text)

    def seed(self) -> None:
        entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
                   "o: Example\ndc: example\n",
                   f"dn: {SERVICE_DN}\nobjectClass: simpleSecurityObject\n"
                   f"objectClass: organizationalRole\ncn: wharfinger\n"
                   f"userPassword: {SERVICE_PASSWORD}\n"]
        for ou in (PEOPLE, ADMINS, GROUPS):
            name = ou.split(",")[0].split("=")[1]
            entries.append(f"dn: {ou}\nobjectClass: organizationalUnit\nou: {name}\n")
        for uid, container, mail in PEOPLE_SEED:
            entries.append(self.person_ldif(uid, container, mail))
        for group, members in GROUPS_SEED.items():
            entries.append(self.group_ldif(group, members))
        self.ldif("\n".join(entries))

    @staticmethod
    def person_ldif(uid: str, container: str = PEOPLE, mail: str | None = None,
                    password: str = USER_PASSWORD) -> str:
        text = (f"dn: uid={uid},{container}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n")
        return text + (f"mail: {mail}\n" if mail else "")

    @staticmethod
    def group_ldif(group: str, members: tuple[str, ...]) -> str:
        text = f"dn: cn={group},{GROUPS}\nobjectClass: groupOfNames\ncn: {group}\n"
        return text + "".join(f"member: uid={m},{PEOPLE}\n" for m in members)

    def add_person(self, uid: str, mail: str | None = None) -> None:
        self.ldif(self.person_ldif(uid, PEOPLE, mail))

    def add_member(self, group: str, uid: str) -> None:
        self.ldif(f"dn: cn={group},{GROUPS}\nchangetype: modify\nadd: member\n"
                  f"member: uid={uid},{PEOPLE}\n", modify=True)

    def remove_member(self, group: str, uid: str) -> None:
        self.ldif(f"dn: cn={group},{GROUPS}\nchangetype: modify\ndelete: member\n"
                  f"member: uid={uid},{PEOPLE}\n", modify=True)

    def add_group(self, group: str, members: tuple[str, ...]) -> None:
        self.ldif(self.group_ldif(group, members))

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def _wait_for_file(path: Path) -> Path:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path
        time.sleep(0.01)
    raise RuntimeError(f"{path} did not appear")
