"""The PostgreSQL backend: a node's data in one database and schema, shared by its
replicas.

The events (eventsourcing's tables), the read models, the node's own tables and the
per-case keys are tables of the schema `HOMEWARD_DATABASE_URL` names (`?schema=`, else
`public`); the relay and the projection worker are each held by one replica through an
advisory lock. Connection policy: each store keeps one connection of its own, opened
with the URL's credentials; the node's tables open a new one once if the kept one broke;
the gap barrier connects for each question; a role's lock has a connection of its own
with TCP keepalives (services/backends/postgres_roles.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.cipher import Cipher
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from services.backends.backend import ROLES, Backend
from services.backends.postgres_reads import PostgresGapBarrier, PostgresReadStore, conninfo
from services.backends.postgres_roles import AdvisoryLock
from services.erasure.keys import TABLE, CaseKeys
from services.exchange.leadership import Role
from services.notification_log import GapBarrier
from services.tables import Result

POSTGRES = "eventsourcing.postgres"
EVENTS_TABLE = "homeward_events"  # eventsourcing names it after the application


class Unreachable(Exception):
    """The database did not answer; the message says why in one line."""


def postgres_env(url: str) -> dict[str, str]:
    """eventsourcing's environment for the database and schema a postgresql:// URL names."""
    parts = urlparse(url)
    env = {
        "PERSISTENCE_MODULE": POSTGRES,
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }
    for option in (parts.query or "").split("&"):
        key, _, value = option.partition("=")
        if key == "schema" and value:
            env["POSTGRES_SCHEMA"] = value
    return env


def check_schema(url: str, timeout: int) -> str | None:
    """Why a node could not keep its data at `url` (the database unreachable, the schema
    missing), in one line; None if it can. Reads only."""
    env = postgres_env(url)
    schema = env.get("POSTGRES_SCHEMA", "public")
    try:
        with psycopg.connect(url.split("?", 1)[0], connect_timeout=timeout) as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                 [schema]).fetchone()
    except psycopg.Error as error:
        text = str(error).strip()
        return f"cannot connect ({text.splitlines()[0] if text else type(error).__name__})"
    if found is None:
        return (f"the schema {schema!r} does not exist in database {env['POSTGRES_DBNAME']!r}"
                " (create it, or correct ?schema=)")
    return None


class PostgresBackend(Backend):
    def __init__(self, env: Mapping[str, str]) -> None:
        """`env`: eventsourcing's environment for the store (`postgres_env`)."""
        self.env = {key: env[key] for key in env if key.startswith("POSTGRES_")}
        self.env["PERSISTENCE_MODULE"] = POSTGRES
        self.schema = self.env.get("POSTGRES_SCHEMA") or "public"

    @classmethod
    def of_url(cls, url: str) -> PostgresBackend:
        return cls(postgres_env(url))

    @property
    def conninfo(self) -> str:
        return conninfo(self.env)

    def event_store(self) -> dict[str, str]:
        return dict(self.env)

    def store_exists(self) -> bool:
        try:
            with psycopg.connect(self.conninfo, connect_timeout=5) as conn:
                row = conn.execute("SELECT to_regclass(%s)",
                                   [f'"{self.schema}".{EVENTS_TABLE}']).fetchone()
        except psycopg.Error as error:
            text = str(error).strip()
            raise Unreachable(text.splitlines()[0] if text else type(error).__name__) from None
        return row is not None and row[0] is not None

    def read_store(self) -> PostgresReadStore:
        return PostgresReadStore(self.conninfo, self.schema)

    def monitor_store(self) -> PostgresReadStore:
        return PostgresReadStore(self.conninfo, self.schema)

    def gap_barrier(self, app: Application[Any]) -> GapBarrier:
        recorder: Any = app.recorder
        return PostgresGapBarrier(self.env, recorder.datastore.schema,
                                  recorder.events_table_name)

    def tables(self) -> PostgresTables:
        return PostgresTables(self.conninfo, self.schema if "POSTGRES_SCHEMA" in self.env
                              else "")

    def case_keys(self, wrap: Cipher | None) -> PostgresCaseKeys:
        return PostgresCaseKeys(self.conninfo, self.schema, wrap)

    def roles(self, names: Iterable[str] = ROLES) -> dict[str, Role]:
        return {name: AdvisoryLock(self.conninfo, self.schema, name) for name in names}

    def stored_events(self, app: Application[Any], case_ids: Sequence[UUID]
                      ) -> dict[UUID, list[StoredEvent]]:
        recorder: Any = app.recorder
        statement = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(sql.Identifier(recorder.datastore.schema),
                 sql.Identifier(recorder.events_table_name))
        found: dict[UUID, list[StoredEvent]] = {}
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(case_ids)])
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(StoredEvent(
                    row["originator_id"], row["originator_version"], row["topic"],
                    bytes(row["state"])))
        return found


class PostgresTables:
    """The node's own tables in its schema (services/tables/__init__.py)."""

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self.conninfo, self.schema = conninfo, schema
        # One connection, kept: every read of a case writes the access log, and a new
        # connection per statement would cost more than the statement.
        self._conn: Any = None
        self._lock = threading.Lock()

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with self._lock:
            try:
                return self._run(sql, params)
            except psycopg.OperationalError:
                if not self._conn.broken:
                    raise
                # The kept connection was dead (the server restarted, an idle timeout):
                # the statement never reached a server, so it runs once on a new one.
                return self._run(sql, params)

    def _run(self, sql: str, params: Sequence[Any]) -> Result:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
        rows = cursor.fetchall() if cursor.description else []
        return Result(cursor.rowcount, [tuple(r) for r in rows])

    def shred(self) -> None:
        pass  # the old row versions: docs/architecture.md, "Erasure on PostgreSQL"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name


class PostgresCaseKeys(CaseKeys):
    """The key table in the node's schema. The row is overwritten and the table vacuumed,
    but the old row version can outlive the erasure in free space, the WAL, replicas and
    backups (still wrapped under the node's key): docs/architecture.md, "Erasure on
    PostgreSQL"."""

    def __init__(self, dsn: str, schema: str, wrap: Cipher | None) -> None:
        super().__init__(wrap)
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._db_lock = threading.Lock()
        self._table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(TABLE))
        self._run("CREATE TABLE IF NOT EXISTS {} (case_id uuid PRIMARY KEY, "
                  "wrapped_key bytea, erased_at text)")

    def _run(self, statement: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._db_lock, self._conn.cursor() as c:
            c.execute(sql.SQL(statement).format(self._table), args)
            return c.fetchall() if c.description else []

    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None:
        rows = self._run("SELECT wrapped_key, erased_at FROM {} WHERE case_id = %s", (case_id,))
        if not rows:
            return None
        wrapped = rows[0][0]
        return (bytes(wrapped) if wrapped is not None else None, rows[0][1])

    def _select_all(self, case_ids: Sequence[UUID]
                    ) -> dict[UUID, tuple[bytes | None, str | None]]:
        rows = self._run("SELECT case_id, wrapped_key, erased_at FROM {} "
                         "WHERE case_id = ANY(%s)", (list(case_ids),))
        return {case_id: (bytes(wrapped) if wrapped is not None else None, erased_at)
                for case_id, wrapped, erased_at in rows}

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._run("INSERT INTO {} (case_id, wrapped_key) VALUES (%s, %s) "
                  "ON CONFLICT (case_id) DO NOTHING", (case_id, wrapped))

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._run("INSERT INTO {} (case_id, wrapped_key, erased_at) VALUES (%s, NULL, %s) "
                  "ON CONFLICT (case_id) DO UPDATE SET wrapped_key = NULL, "
                  "erased_at = excluded.erased_at", (case_id, at.isoformat()))
        self._run("VACUUM {}")

    def close(self) -> None:
        self._conn.close()
