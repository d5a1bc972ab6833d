"""Talking to the registry's API (Distribution spec/api.md) with tokens Wharfinger issues to itself.

Used by reconcile (catalog, tags, manifest digests), deletion (DELETE manifests) and the health
check (GET /v2/). Every call has a timeout (`registry.timeout.value` to connect,
`registry.read_timeout.value` in all); a failure is a `RegistryUnavailableError`, which callers
treat as "cannot know", never as "gone".
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from domain.notifications import MANIFEST_MEDIA_TYPES
from web.settings import Settings
from web.token.jwt import sign_jwt
from web.token.keys import SigningKey

ACCEPT = ", ".join(sorted(MANIFEST_MEDIA_TYPES))
WHARFINGER_SUBJECT = "wharfinger"
"""The subject of the tokens Wharfinger issues to itself (reconcile)."""


class RegistryUnavailableError(Exception):
    """The registry could not be reached or answered with an error (timeout, 5xx, 401…)."""


@dataclass(frozen=True)
class RegistryTarget:
    base_url: str
    """`http(s)://host[:port]`, how Wharfinger reaches the registry."""
    service: str
    """The registry's token `service` (its hostname as registered)."""


def target_of(hostname: str, use_ssl: bool) -> RegistryTarget:
    return RegistryTarget(f"{'https' if use_ssl else 'http'}://{hostname}", hostname)


@dataclass(frozen=True)
class ManifestHead:
    digest: str
    media_type: str


class RegistryClient:
    def __init__(self, session: aiohttp.ClientSession, target: RegistryTarget,
                 signing_key: SigningKey, settings: Settings) -> None:
        self._session = session
        self._target = target
        self._key = signing_key
        self._issuer = settings.issuer
        self._page = int(settings["registry.catalog_page.value"])

    def token(self, access: list[dict[str, object]], subject: str = WHARFINGER_SUBJECT) -> str:
        now = int(time.time())
        return sign_jwt(self._key, {
            "iss": self._issuer, "sub": subject, "aud": self._target.service,
            "exp": now + 300, "nbf": now - 5, "iat": now, "jti": secrets.token_urlsafe(16),
            "access": access})

    def _headers(self, access: list[dict[str, object]], subject: str = WHARFINGER_SUBJECT,
                 accept: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(access, subject)}"}
        if accept:
            headers["Accept"] = accept
        return headers

    async def ping(self) -> int:
        """The status of `GET /v2/` (200 or 401 means the registry is up)."""
        try:
            async with self._session.get(f"{self._target.base_url}/v2/") as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise RegistryUnavailableError(f"{type(e).__name__}: {e}") from None

    async def catalog(self) -> list[str]:
        """Every repository in `/v2/_catalog`, following `Link` pages."""
        access: list[dict[str, object]] = [
            {"type": "registry", "name": "catalog", "actions": ["*"]}]
        return await self._paged(f"/v2/_catalog?n={self._page}", access, "repositories",
                                 "the catalog")

    async def tags(self, repository: str) -> list[str] | None:
        """The repository's tags; None when the registry does not know the repository."""
        try:
            return await self._paged(f"/v2/{repository}/tags/list?n={self._page}",
                                     _repo_access(repository, "pull"), "tags", "the tags list")
        except _NotFoundError:
            return None

    async def _paged(self, path: str, access: list[dict[str, object]], key: str,
                     what: str) -> list[str]:
        """Every page of a list (Distribution's `n` and `Link: <…>; rel="next"` paging)."""
        url: str | None = f"{self._target.base_url}{path}"
        items: list[str] = []
        while url:
            body, link = await self._get_json(url, access)
            listed = body.get(key) or []
            if not isinstance(listed, list):
                raise RegistryUnavailableError(f"{what} is not a list")
            items.extend(str(item) for item in listed)
            url = _next_link(self._target.base_url, link)
        return items

    async def manifest(self, repository: str, reference: str) -> ManifestHead | None:
        """Digest and media type of a manifest (HEAD); None if it is not there."""
        url = f"{self._target.base_url}/v2/{repository}/manifests/{reference}"
        headers = self._headers(_repo_access(repository, "pull"), accept=ACCEPT)
        try:
            async with self._session.head(url, headers=headers) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise RegistryUnavailableError(f"HEAD {url}: {response.status}")
                digest = response.headers.get("Docker-Content-Digest", "")
                media_type = response.content_type
        except (aiohttp.ClientError, TimeoutError) as e:
            raise RegistryUnavailableError(f"HEAD {url}: {type(e).__name__}: {e}") from None
        if not digest:
            raise RegistryUnavailableError(f"HEAD {url}: no Docker-Content-Digest")
        return ManifestHead(digest, media_type)

    async def delete_manifest(self, repository: str, reference: str, *, subject: str) -> int:
        """`DELETE /v2/<name>/manifests/<reference>`; returns the status (202 = deleted)."""
        url = f"{self._target.base_url}/v2/{repository}/manifests/{reference}"
        headers = self._headers(_repo_access(repository, "delete"), subject=subject)
        try:
            async with self._session.delete(url, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise RegistryUnavailableError(f"DELETE {url}: {type(e).__name__}: {e}") from None

    async def _get_json(self, url: str, access: list[dict[str, object]]
                        ) -> tuple[dict[str, object], str]:
        try:
            async with self._session.get(url, headers=self._headers(access)) as response:
                if response.status == 404:
                    raise _NotFoundError(url)
                if response.status != 200:
                    raise RegistryUnavailableError(f"GET {url}: {response.status}")
                body = await response.json(content_type=None)
                link = response.headers.get("Link", "")
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise RegistryUnavailableError(f"GET {url}: {type(e).__name__}: {e}") from None
        if not isinstance(body, dict):
            raise RegistryUnavailableError(f"GET {url}: not a JSON object")
        return body, link


class _NotFoundError(RegistryUnavailableError):
    pass


NOT_V2 = "Error: registry does not implement v2 of the API."


async def reachability(target: RegistryTarget, settings: Settings) -> str:
    """Portus's `Registry#reachable?`: "" when `GET /v2/` answers 200 or 401 with the
    `Docker-Distribution-Api-Version` header, else why not, in Portus's words (its
    `Portus::Errors.message_from_exception`, prefixed with the Ruby exception class as Portus
    shows it), so scripts and people who read Portus's messages read the same ones here."""
    timeout = aiohttp.ClientTimeout(total=float(settings["registry.read_timeout.value"]),
                                    connect=float(settings["registry.timeout.value"]))
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"{target.base_url}/v2/", allow_redirects=False) as response:
            if (response.status in (200, 401)
                    and "Docker-Distribution-Api-Version" in response.headers):
                return ""
            return NOT_V2
    except aiohttp.ClientSSLError:  # before ClientConnectorError, its base class
        return "OpenSSL::SSL::SSLError: could not stablish connection: SSL error"
    except aiohttp.ClientConnectorDNSError:
        return "SocketError: connection refused"
    except aiohttp.ClientConnectorError:
        return "Errno::ECONNREFUSED: connection refused"
    except (aiohttp.ServerDisconnectedError, ConnectionResetError):
        return "Errno::ECONNRESET: connection reset"
    except aiohttp.ClientResponseError:
        # Not HTTP at all (e.g. plain HTTP spoken to a TLS port): Portus's Net::HTTPBadResponse.
        return "Net::HTTPBadResponse: could not stablish connection: SSL error"
    except (TimeoutError, aiohttp.ServerTimeoutError):
        return "Net::OpenTimeout: connection timed out"
    except aiohttp.ClientError as e:
        return f"{type(e).__name__}: connection refused"


def _repo_access(repository: str, *actions: str) -> list[dict[str, object]]:
    return [{"type": "repository", "name": repository, "actions": list(actions)}]


def _next_link(base_url: str, link: str) -> str | None:
    """The `rel="next"` URL of a Link header (RFC 8288), made absolute."""
    if not link or 'rel="next"' not in link:
        return None
    start, end = link.find("<"), link.find(">")
    if start < 0 or end < start:
        return None
    return urljoin(base_url + "/", link[start + 1:end])


@asynccontextmanager
async def registry_client(target: RegistryTarget, signing_key: SigningKey,
                          settings: Settings) -> AsyncIterator[RegistryClient]:
    timeout = aiohttp.ClientTimeout(total=float(settings["registry.read_timeout.value"]),
                                    connect=float(settings["registry.timeout.value"]))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield RegistryClient(session, target, signing_key, settings)
