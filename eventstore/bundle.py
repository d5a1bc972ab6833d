"""Evidence bundles: the events of a time range with everything needed to check them offline.

A bundle is a directory:

* `events.jsonl`: one stored event per line, in log order, with its leaf index, the stored row
  (`originator_id`, `version`, `topic`, `state` base64) and readable fields derived from it (`type`,
  `time`, `actor`, `data`), which the verifier re-derives, so they cannot be edited alone. The
  leaves run without a gap from one event before the range to one after it (`in_range` false),
  so the bundle also shows that no event of the range was left out.
* `proofs.jsonl`: the RFC 9162 inclusion proof of each event in the checkpoint's tree.
* `checkpoint.txt`: the signed C2SP checkpoint those proofs lead to.
* `consistency.json`: proofs that every earlier signed checkpoint is a prefix of this one.
* `key.txt`: the verifier key (an auditor should rather pass the one they kept, `--key`).
* `manifest.json`: what the bundle claims (log, origin, range, counts) and the SHA-256 of every
  other file; `manifest.sig`: a signed note by the log's key over the manifest's SHA-256, so not
  one byte of the bundle can change unnoticed.

`verify_bundle` needs only this package: no database, no network, no configuration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventstore.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from eventstore.signed_note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_note,
    parse_checkpoint,
)
from eventstore.tlog import TransparencyLog, canonical_bytes

FORMAT = "wharfinger-evidence-bundle/1"
FILES = ("events.jsonl", "proofs.jsonl", "checkpoint.txt", "consistency.json", "key.txt")


class BundleError(ValueError):
    """The bundle cannot be written (export) or is not valid (verify): one precise message."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _readable(topic: str, state: bytes) -> dict[str, Any]:
    """The fields a reader wants, derived from the stored row alone (verify re-derives them)."""
    try:
        data = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return {"type": topic, "time": None, "actor": None, "data": None}
    if not isinstance(data, dict):
        return {"type": topic, "time": None, "actor": None, "data": data}
    stamp = data.get("timestamp")
    when = stamp.get("_data_") if isinstance(stamp, dict) else None
    return {"type": topic, "time": when, "actor": data.get("actor"), "data": data}


# -- export ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportSummary:
    path: Path
    events: int
    in_range: int
    tree_size: int


def manifest_note(manifest_bytes: bytes) -> str:
    """The text `manifest.sig` signs: the format and the manifest's SHA-256."""
    return f"{FORMAT}\nmanifest.json sha256 {hashlib.sha256(manifest_bytes).hexdigest()}\n"


def sign_manifest(out: Path, manifest: dict[str, Any], signer: Signer) -> None:
    data = (json.dumps(manifest, indent=2) + "\n").encode()
    (out / "manifest.json").write_bytes(data)
    (out / "manifest.sig").write_text(signer.sign(manifest_note(data)))


def export_bundle(tlog: TransparencyLog, note: str, signer: Signer, since: datetime,
                  until: datetime, out: Path, earlier_note: str | None = None) -> ExportSummary:
    """Write the bundle of events with `since` ≤ time ≤ `until` under the signed checkpoint
    `note` (made just before, so it covers the whole sealed log). Blocking."""
    if since > until:
        raise BundleError("--since is after --until")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} exists and is not an empty directory")
    verifier = signer.verifier
    checkpoint = parse_checkpoint(note, verifier)
    leaves = tlog.leaves()[:checkpoint.size]
    by_position = {leaf.position: leaf for leaf in leaves}
    # Step 1: the stored rows, their times, and the leaves that cover the range.
    rows: list[dict[str, Any]] = []
    first = last = None
    position = 0
    while True:
        page = tlog.app.recorder.select_notifications(start=position, limit=2000,
                                                      inclusive_of_start=False)
        for n in page:
            leaf = by_position.get(n.id)
            if leaf is None:
                continue  # not sealed yet (appended after the checkpoint)
            state = bytes(n.state)
            digest = leaf_hash(canonical_bytes(n.originator_id, n.originator_version, n.topic,
                                               state))
            if digest != leaf.hash:
                raise BundleError(f"the stored event at position {n.id} differs from what was"
                                  " sealed; run `wharfinger audit verify`")
            decoded: Any = tlog.app.mapper.to_domain_event(n)
            when: datetime = decoded.timestamp
            rows.append({"position": n.id, "leaf_index": leaf.index,
                         "originator_id": str(n.originator_id), "version": n.originator_version,
                         "topic": n.topic, "state": _b64(state), "in_range": since <= when <= until,
                         **_readable(n.topic, state)})
            if rows[-1]["in_range"]:
                first = leaf.index if first is None else first
                last = leaf.index
        if len(page) < 2000:
            break
        position = page[-1].id
    if first is None or last is None:
        raise BundleError("no sealed event lies in that time range")
    lo, hi = max(first - 1, 0), min(last + 1, checkpoint.size - 1)
    chosen = [r for r in rows if lo <= r["leaf_index"] <= hi]
    # Step 2: the proofs.
    proofs = tlog.inclusions([r["leaf_index"] for r in chosen], checkpoint.size)
    earlier = [cp for cp in tlog.checkpoints() if cp.size < checkpoint.size]
    sizes = {cp.size: cp for cp in earlier}
    consistency = [{"size": cp.size, "root": _b64(cp.root), "note": cp.note,
                    "proof": [_b64(h) for h in tlog.consistency(cp.size, checkpoint.size)]}
                   for cp in sizes.values()]
    if earlier_note is not None:
        kept = parse_checkpoint(earlier_note, verifier)
        if kept.size > checkpoint.size:
            raise BundleError("the earlier checkpoint is larger than the current one")
        if kept.size not in sizes:
            consistency.append({"size": kept.size, "root": _b64(kept.root), "note": earlier_note,
                                "proof": [_b64(h) for h in
                                          tlog.consistency(kept.size, checkpoint.size)]})
    # Step 3: the files, then the manifest over them.
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    contents = {
        "events.jsonl": "".join(json.dumps(r, sort_keys=True) + "\n" for r in chosen),
        "proofs.jsonl": "".join(json.dumps({"leaf_index": r["leaf_index"],
                                            "proof": [_b64(h) for h in p]}) + "\n"
                                for r, p in zip(chosen, proofs, strict=True)),
        "checkpoint.txt": note,
        "consistency.json": json.dumps(sorted(consistency, key=lambda c: c["size"]), indent=1),
        "key.txt": verifier.encode() + "\n",
    }
    for name, text in contents.items():
        (out / name).write_text(text)
    in_range = sum(1 for r in chosen if r["in_range"])
    manifest = {
        "format": FORMAT, "log": tlog.log, "origin": checkpoint.origin,
        "since": since.isoformat(), "until": until.isoformat(),
        "tree_size": checkpoint.size, "events": len(chosen),
        "events_in_range": in_range,
        "first_leaf": lo, "last_leaf": hi,
        "files": {name: hashlib.sha256(text.encode()).hexdigest()
                  for name, text in contents.items()},
    }
    sign_manifest(out, manifest, signer)
    return ExportSummary(out, len(chosen), in_range, checkpoint.size)


# -- verification ---------------------------------------------------------------------------------

@dataclass
class BundleReport:
    ok: bool = False
    checks: list[str] = field(default_factory=list)
    """What was checked and held, in order."""
    failure: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)


def verify_bundle(path: Path, trusted_key: str | None = None,
                  earlier_note: str | None = None) -> BundleReport:
    """Check a bundle; stops at the first failure, which it names exactly."""
    report = BundleReport()
    try:
        _verify(path, trusted_key, earlier_note, report)
    except BundleError as e:
        report.failure = str(e)
        return report
    report.ok = True
    return report


def _read(path: Path, name: str) -> str:
    try:
        return (path / name).read_bytes().decode()
    except FileNotFoundError:
        raise BundleError(f"{name}: missing from the bundle") from None
    except UnicodeDecodeError:
        raise BundleError(f"{name}: not UTF-8 text (altered)") from None
    except OSError as e:
        raise BundleError(f"{name}: cannot be read ({e.strerror})") from None


def _verify(path: Path, trusted_key: str | None, earlier_note: str | None,
            report: BundleReport) -> None:
    if not path.is_dir():
        raise BundleError(f"{path}: not a bundle directory")
    # Step 1: the key, and the manifest it signed.
    try:
        bundled = Verifier.parse(_read(path, "key.txt"))
        verifier = Verifier.parse(_key_text(trusted_key)) if trusted_key else bundled
    except NoteError as e:
        raise BundleError(f"key: {e}") from None
    if trusted_key and verifier != bundled:
        raise BundleError("key.txt: not the key you trust (--key); the bundle was signed by"
                          " someone else")
    report.checks.append("key: " + ("the key you trust" if trusted_key else
                                    "the bundle's own key.txt (pass --key to pin yours)"))
    manifest_text = _read(path, "manifest.json")
    try:
        signed = open_note(_read(path, "manifest.sig"), verifier)
    except NoteError as e:
        raise BundleError(f"manifest.sig: {e}") from None
    if signed != manifest_note(manifest_text.encode()):
        raise BundleError("manifest.json: altered (its SHA-256 is not the one manifest.sig"
                          " signs)")
    report.checks.append(f"manifest.json is signed by {verifier.name}")
    try:
        manifest = json.loads(manifest_text)
    except ValueError:
        raise BundleError("manifest.json: not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"manifest.json: not a {FORMAT} manifest")
    report.manifest = manifest
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(FILES):
        raise BundleError(f"manifest.json: must list exactly {', '.join(FILES)}")
    texts = {}
    for name in FILES:
        texts[name] = _read(path, name)
        if hashlib.sha256(texts[name].encode()).hexdigest() != files[name]:
            raise BundleError(f"{name}: SHA-256 differs from the manifest (altered or"
                              " truncated)")
    report.checks.append("every file matches the SHA-256 in manifest.json")
    # Step 2: the checkpoint.
    try:
        checkpoint = parse_checkpoint(texts["checkpoint.txt"], verifier)
    except NoteError as e:
        raise BundleError(f"checkpoint.txt: {e}") from None
    if checkpoint.origin != manifest.get("origin") or checkpoint.size != manifest.get(
            "tree_size"):
        raise BundleError("checkpoint.txt: its origin or tree size differs from manifest.json")
    report.checks.append(f"checkpoint.txt is signed by {verifier.name}: {checkpoint.origin},"
                         f" {checkpoint.size} events")
    # Step 3: every event, its readable fields and its inclusion proof.
    _verify_events(texts["events.jsonl"], texts["proofs.jsonl"], checkpoint, manifest, report)
    # Step 4: the log only grew since the checkpoint the auditor kept.
    if earlier_note is not None:
        _verify_growth(texts["consistency.json"], earlier_note, verifier, checkpoint, report)


def _key_text(trusted: str) -> str:
    """`--key` is the verifier key itself or a file holding it."""
    candidate = Path(trusted)
    return candidate.read_text().strip() if candidate.is_file() else trusted


def _lines(text: str, name: str) -> list[dict[str, Any]]:
    if text and not text.endswith("\n"):
        raise BundleError(f"{name}: the last line is cut off (truncated)")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            item = json.loads(line)
        except ValueError:
            raise BundleError(f"{name} line {number}: not valid JSON") from None
        if not isinstance(item, dict):
            raise BundleError(f"{name} line {number}: not a JSON object")
        out.append(item)
    return out


def _verify_events(events_text: str, proofs_text: str, checkpoint: Checkpoint,
                   manifest: dict[str, Any], report: BundleReport) -> None:
    events = _lines(events_text, "events.jsonl")
    proofs = _lines(proofs_text, "proofs.jsonl")
    if len(events) != manifest.get("events") or len(proofs) != len(events):
        raise BundleError(f"events.jsonl has {len(events)} events and proofs.jsonl"
                          f" {len(proofs)} proofs; manifest.json says {manifest.get('events')}")
    in_range = 0
    expected_index = manifest.get("first_leaf")
    for number, (event, proof) in enumerate(zip(events, proofs, strict=True), 1):
        where = f"events.jsonl line {number}"
        try:
            oid = str(UUID(str(event["originator_id"])))
            version, topic = int(event["version"]), str(event["topic"])
            state = base64.b64decode(str(event["state"]), validate=True)
            index = int(event["leaf_index"])
            hashes = [base64.b64decode(h, validate=True) for h in proof["proof"]]
        except (KeyError, ValueError, TypeError, binascii.Error):
            raise BundleError(f"{where}: a field is missing or malformed") from None
        where += f" (event {oid} v{version}, leaf {index})"
        if index != expected_index or proof.get("leaf_index") != index:
            raise BundleError(f"{where}: leaves must run without a gap from"
                              f" {manifest.get('first_leaf')}; an event is missing or extra")
        expected_index = index + 1
        derived = _readable(topic, state)
        for key, value in derived.items():
            if event.get(key) != value:
                raise BundleError(f"{where}: '{key}' differs from the signed stored event")
        try:
            verify_inclusion(leaf_hash(canonical_bytes(oid, version, topic, state)), index,
                             checkpoint.size, hashes, checkpoint.root)
        except ProofError as e:
            raise BundleError(f"{where}: {e}") from None
        in_range += bool(event.get("in_range"))
        _check_range(event, manifest, where)
    if expected_index != manifest.get("last_leaf", -1) + 1:
        raise BundleError("events.jsonl: the leaves end before manifest.json's last_leaf")
    # Completeness: the range is closed by an event outside it on each side (or the log's end).
    if events and events[0].get("in_range") and manifest.get("first_leaf") != 0:
        raise BundleError("events.jsonl: the first event is in the range, so the events before"
                          " it that may also be are missing")
    if events and events[-1].get("in_range") and \
            manifest.get("last_leaf") != checkpoint.size - 1:
        raise BundleError("events.jsonl: the last event is in the range, so the events after"
                          " it that may also be are missing")
    if in_range != manifest.get("events_in_range"):
        raise BundleError("events.jsonl: the number of events in range differs from the"
                          " manifest")
    report.checks.append(f"{len(events)} events ({in_range} in the range) are in the signed"
                         " tree, leaves without a gap")


def _check_range(event: dict[str, Any], manifest: dict[str, Any], where: str) -> None:
    when = event.get("time")
    if not isinstance(when, str):
        return
    try:
        t = datetime.fromisoformat(when)
        since = datetime.fromisoformat(str(manifest["since"]))
        until = datetime.fromisoformat(str(manifest["until"]))
    except (KeyError, ValueError):
        raise BundleError(f"{where}: its time or the manifest's range is not a time") from None
    if bool(event.get("in_range")) != (since <= t <= until):
        raise BundleError(f"{where}: 'in_range' is wrong for its time {when}")


def _verify_growth(consistency_text: str, earlier_note: str, verifier: Verifier,
                   checkpoint: Checkpoint, report: BundleReport) -> None:
    try:
        kept = parse_checkpoint(earlier_note, verifier)
    except NoteError as e:
        raise BundleError(f"earlier checkpoint: {e}") from None
    if kept.origin != checkpoint.origin:
        raise BundleError(f"earlier checkpoint: it is of another log ({kept.origin})")
    if kept.size > checkpoint.size:
        raise BundleError(f"earlier checkpoint: it covers {kept.size} events, the bundle's only"
                          f" {checkpoint.size}: the log shrank")
    try:
        entries = json.loads(consistency_text)
    except ValueError:
        raise BundleError("consistency.json: not valid JSON") from None
    entry = next((e for e in entries if isinstance(e, dict) and e.get("size") == kept.size),
                 None) if isinstance(entries, list) else None
    if kept.size == checkpoint.size:
        proof: list[bytes] = []
    elif entry is None:
        raise BundleError(f"consistency.json: no proof from size {kept.size}; export again"
                          " with --earlier-checkpoint")
    else:
        try:
            proof = [base64.b64decode(h, validate=True) for h in entry["proof"]]
        except (KeyError, TypeError, binascii.Error):
            raise BundleError("consistency.json: a proof is malformed") from None
    try:
        verify_consistency(kept.size, checkpoint.size, kept.root, checkpoint.root, proof)
    except ProofError as e:
        raise BundleError(f"the log did not only grow since your checkpoint of size"
                          f" {kept.size}: {e}") from None
    report.checks.append(f"the log only grew: your checkpoint of size {kept.size} is a prefix"
                         f" of this one of size {checkpoint.size}")

