"""A case's documents (a scanned travel document, a medical certificate): kept by the agency
alone, sealed under the case's own key, gone with the case's erasure.

Each document is one row of the node's own tables (`homeward_documents`: who added it, when,
its type and size in clear; its name and SHA-256 sealed) and its content, sealed with
AES-256-GCM under the case's key and bound to the case and the document. A small content
stays in the row; a larger one, on a node with a data directory, is a file of its own
(`documents/<case>/<document>`, 0600, in a 0700 folder), so the tables do not carry
megabytes. On PostgreSQL every content stays in the row, which every replica reads.
On erasure the case's files are overwritten and removed and its rows deleted (the
SQLite tables zero what they free); the case's key is destroyed before, so whatever copy
outlives that (a backup) no longer opens.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.files import private_dir, write_private
from services.tables import Tables

IN_ROW_BYTES = 64 * 1024  # larger contents go to a file of their own
NONCE_BYTES = 12
# What a document may be, and how its first bytes must begin.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


class CaseKeys(Protocol):
    """Each case's own key (services.erasure.keys.CaseKeys); None once erased."""

    def key(self, case_id: UUID, create: bool = False) -> bytes | None: ...


class DocumentsErased(Exception):
    """The case was erased: no document is kept for it again, none reads."""


class NoSuchDocument(Exception):
    pass


@dataclass(frozen=True)
class Document:
    id: UUID
    case_id: UUID
    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    added_at: str


def matches(content_type: str, content: bytes) -> bool:
    """Whether the content's first bytes are those of the type it is sent as."""
    return any(content.startswith(magic) for magic in MAGIC.get(content_type, ()))


class Documents:
    def __init__(self, db: Tables, keys: CaseKeys, folder: Path | None) -> None:
        self.db, self.t, self.keys, self.folder = db, db.table("homeward_documents"), keys, folder
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (id TEXT PRIMARY KEY, "
               "case_id TEXT NOT NULL, n INTEGER NOT NULL, added_at TEXT NOT NULL, "
               "added_by TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL, "
               "sealed_about TEXT NOT NULL, content TEXT)")
        db.run(f"CREATE INDEX IF NOT EXISTS homeward_documents_case ON {self.t} (case_id)")

    def add(self, case_id: UUID, name: str, content_type: str, content: bytes, by: str,
            at: datetime) -> Document:
        key = self.keys.key(case_id, create=True)
        if key is None:
            raise DocumentsErased(f"case {case_id} was erased")
        doc = Document(uuid4(), case_id, name, content_type, len(content),
                       hashlib.sha256(content).hexdigest(), by, at.isoformat())
        about = _seal(key, json.dumps({"name": name, "sha256": doc.sha256}).encode(),
                      _bound(doc.case_id, doc.id, "about"))
        sealed = _seal(key, content, _bound(doc.case_id, doc.id, "content"))
        in_row: str | None = base64.b64encode(sealed).decode()
        if self.folder is not None and len(sealed) > IN_ROW_BYTES:
            write_private(self._file(case_id, doc.id), sealed)
            in_row = None
        # n: the order they were added in, within the case (a clock may stand still)
        self.db.run(f"INSERT INTO {self.t} (id, case_id, n, added_at, added_by, content_type, "
                    "size, sealed_about, content) VALUES (?, ?, (SELECT COALESCE(MAX(n), 0) + 1 "
                    f"FROM {self.t} WHERE case_id = ?), ?, ?, ?, ?, ?, ?)",
                    (str(doc.id), str(case_id), str(case_id), doc.added_at, by, content_type,
                     doc.size, base64.b64encode(about).decode(), in_row))
        return doc

    def of_case(self, case_id: UUID) -> list[Document]:
        key = self._key(case_id)
        rows = self.db.run(f"SELECT id, added_at, added_by, content_type, size, sealed_about "
                           f"FROM {self.t} WHERE case_id = ? ORDER BY n",
                           (str(case_id),)).rows
        return [self._document(key, case_id, *row) for row in rows]

    def content(self, case_id: UUID, doc_id: UUID) -> tuple[Document, bytes]:
        key = self._key(case_id)
        rows = self.db.run(f"SELECT id, added_at, added_by, content_type, size, sealed_about, "
                           f"content FROM {self.t} WHERE case_id = ? AND id = ?",
                           (str(case_id), str(doc_id))).rows
        if not rows:
            raise NoSuchDocument(f"case {case_id} has no document {doc_id}")
        *about, in_row = rows[0]
        doc = self._document(key, case_id, *about)
        sealed = (base64.b64decode(in_row) if in_row is not None
                  else self._file(case_id, doc_id).read_bytes())
        return doc, _open(key, sealed, _bound(case_id, doc_id, "content"))

    def forget_case(self, case_id: UUID) -> None:
        """On erasure: the case's files overwritten and removed, its rows deleted."""
        if self.folder is not None:
            folder = self.folder / str(case_id)
            for path in folder.glob("*") if folder.is_dir() else ():
                _overwrite(path)
            shutil.rmtree(folder, ignore_errors=True)
        self.db.run(f"DELETE FROM {self.t} WHERE case_id = ?", (str(case_id),))

    def _key(self, case_id: UUID) -> bytes:
        key = self.keys.key(case_id)
        if key is None:
            raise DocumentsErased(f"case {case_id} holds no readable document")
        return key

    def _document(self, key: bytes, case_id: UUID, doc_id: str, added_at: str, added_by: str,
                  content_type: str, size: int, sealed_about: str) -> Document:
        about = json.loads(_open(key, base64.b64decode(sealed_about),
                                 _bound(case_id, UUID(doc_id), "about")))
        return Document(UUID(doc_id), case_id, about["name"], content_type, int(size),
                        about["sha256"], added_by, added_at)

    def _file(self, case_id: UUID, doc_id: UUID) -> Path:
        assert self.folder is not None
        return private_dir(self.folder / str(case_id)) / str(doc_id)


def _seal(key: bytes, plain: bytes, bound: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, bound)


def _open(key: bytes, sealed: bytes, bound: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound)


def _bound(case_id: UUID, doc_id: UUID, part: str) -> bytes:
    """What a sealed part is bound to: it opens only as this part of this document."""
    return f"{case_id}/document/{doc_id}/{part}".encode()


def _overwrite(path: Path) -> None:
    """Zeros over the file's bytes before it is removed (a filesystem may keep the blocks)."""
    with contextlib.suppress(OSError), path.open("r+b") as out:
        out.write(b"\0" * path.stat().st_size)
        out.flush()
        os.fsync(out.fileno())
