"""What an agency keeps of a case for its own team: its notes (written with the `notes`
step) and its documents. Both are personal, sealed under the case's own key, gone with
its erasure; neither crosses the border. Every read is written to the access log."""

from __future__ import annotations

import base64
from datetime import datetime
from email.message import Message
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response

from events.chain import ERASED
from events.steps.notes import NoteAdded
from services.api.deps import IDEMPOTENT, NodeDep, Purpose
from services.api.documents import (
    MAGIC,
    Document,
    Documents,
    DocumentsErased,
    NoSuchDocument,
    matches,
)
from services.api.http import openapi
from services.api.http.limits import BODY
from services.api.http.problems import Problem
from services.api.models import DocumentList, DocumentView, NoteList, NoteView
from services.api.node import Node
from services.api.policy import DocumentKeeper, PersonalReader
from services.application import CaseNotFound

router = APIRouter(prefix="/v1/cases", tags=["case files"])
NAME_CHARACTERS = 255
UPLOAD_REFUSALS = openapi.problems(401, 403, 404, 409, 413, 415, 422)
DOCUMENT_READ = openapi.problems(401, 403, 404, 409, 422)


@router.get("/{case_id}/notes", response_model=NoteList, responses=openapi.CASE_READ)
def read_notes(case_id: UUID, who: PersonalReader, node: NodeDep, purpose: Purpose) -> NoteList:
    notes = [e for e in node.app.timeline(case_id) if isinstance(e, NoteAdded)]
    node.access_log.record(case_id, who.agency, who.sub, "notes", purpose, node.clock.now())
    return NoteList(id=case_id, notes=[
        NoteView(seq=e.originator_version, added_at=e.timestamp, added_by=e.actor,
                 text=None if e.data.get("text") == ERASED else e.data.get("text"),
                 erased=e.data.get("text") == ERASED)
        for e in notes])


@router.post("/{case_id}/documents", status_code=201, response_model=DocumentView,
             dependencies=IDEMPOTENT, responses=UPLOAD_REFUSALS,
             openapi_extra={"requestBody": {"required": True, "content": {
                 kind: {"schema": {"type": "string", "format": "binary"}} for kind in MAGIC}}})
def add_document(
    case_id: UUID, who: DocumentKeeper, node: NodeDep, request: Request, response: Response,
    content_type: Annotated[str | None, Header(max_length=200)] = None,
    content_disposition: Annotated[str | None, Header(
        max_length=1000, description='attachment; filename="scan.pdf"')] = None,
) -> DocumentView:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in MAGIC:
        raise Problem(415, f"a document is one of {', '.join(MAGIC)}, not {kind or 'untyped'}",
                      slug="unsupported-type")
    content: bytes = request.scope.get(BODY, b"")
    if not content:
        raise Problem(422, "the body is the document, and it is empty", slug="invalid")
    if not matches(kind, content):
        raise Problem(415, f"the document's bytes are not those of {kind}",
                      slug="unsupported-type")
    name = _filename(content_disposition)
    case = node.app.case(case_id)
    if case.state.erased:
        raise Problem(409, "the case's personal data was erased; no document is kept for it",
                      slug="sequence", rule="sequence")
    try:
        doc = _documents(node).add(case_id, name, kind, content, who.sub, node.clock.now())
    except DocumentsErased:
        raise Problem(409, "the case's personal data was erased; no document is kept for it",
                      slug="sequence", rule="sequence") from None
    response.headers["Location"] = f"/v1/cases/{case_id}/documents/{doc.id}"
    return _view(doc)


@router.get("/{case_id}/documents", response_model=DocumentList, responses=DOCUMENT_READ)
def list_documents(case_id: UUID, who: PersonalReader, node: NodeDep,
                   purpose: Purpose) -> DocumentList:
    node.app.case(case_id)  # 404 for a case this agency does not hold
    node.access_log.record(case_id, who.agency, who.sub, "documents", purpose, node.clock.now())
    try:
        docs = _documents(node).of_case(case_id)
    except DocumentsErased:
        return DocumentList(id=case_id, documents=[], erased=True)
    return DocumentList(id=case_id, documents=[_view(d) for d in docs])


@router.get("/{case_id}/documents/{doc_id}", response_class=Response, responses={
    **DOCUMENT_READ, 200: {"description": "the document as it was added",
                           "content": {kind: {} for kind in MAGIC}}})
def read_document(case_id: UUID, doc_id: UUID, who: PersonalReader, node: NodeDep,
                  purpose: Purpose) -> Response:
    node.app.case(case_id)
    node.access_log.record(case_id, who.agency, who.sub, f"document:{doc_id}", purpose,
                           node.clock.now())
    try:
        doc, content = _documents(node).content(case_id, doc_id)
    except NoSuchDocument:
        raise CaseNotFound(f"case {case_id} has no document {doc_id}") from None
    except DocumentsErased:
        raise Problem(409, "the case's personal data was erased, its documents with it",
                      slug="sequence", rule="sequence") from None
    return Response(content, media_type=doc.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.name, safe='')}",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(doc.sha256)).decode()}:"})


def _filename(disposition: str | None) -> str:
    """The file's name from `Content-Disposition` (`filename`, or RFC 5987 `filename*`),
    without any folder it names."""
    message = Message()
    message["content-disposition"] = disposition or ""
    name = message.get_filename()
    if name is not None:
        name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise Problem(422, "name the document: Content-Disposition: attachment; "
                      'filename="<name>"', slug="invalid",
                      errors=[{"field": "header.content-disposition",
                               "message": "a filename is required"}])
    if len(name) > NAME_CHARACTERS or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise Problem(422, f"a document's name is at most {NAME_CHARACTERS} printable "
                      "characters", slug="invalid",
                      errors=[{"field": "header.content-disposition",
                               "message": "too long, or not printable"}])
    return name


def _documents(node: Node) -> Documents:
    if node.documents is None:
        raise Problem(503, "this node keeps no documents", slug="unavailable")
    return node.documents


def _view(doc: Document) -> DocumentView:
    return DocumentView(id=doc.id, name=doc.name, content_type=doc.content_type,
                        size=doc.size, sha256=doc.sha256, added_by=doc.added_by,
                        added_at=datetime.fromisoformat(doc.added_at))
