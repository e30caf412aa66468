"""Bulk seeding for ``bench/web_load.py``: multiply the ended cases of a seeded database
in SQL, on the PostgreSQL server, up to a requested number of cases.

The engine seeds a template set (real engine state, ``bench/_web_seed.py``); this module
then copies its ended cases (``ended_at`` set) with every row that references them, one
``INSERT … SELECT`` per table per batch, each batch one transaction:

- ``cases``: new ids from the ``cases`` sequence, new business keys ``WB-H000000`` …,
  the serialized workflow (``state``, ``case_history``) kept as it is (the copies are
  only read: history pages, metrics, supervision queries; nobody acts on them).
- Every table with a foreign key to ``cases.id`` (found in the catalog, so that a table
  added later is copied too), and the tables referencing ``human_tasks.id``
  (``task_candidates``). Serial ids come from their sequences; a self-reference
  (``fault_records.refers_to``) points at the copy of the row it referred to.
- Task ids (SpiffWorkflow task UUIDs: ``human_tasks.id``, every ``task_id``,
  ``multi_instance_of``, ``multi_instance_id``) become ``md5(old || '#' || new case
  id)::uuid`` (unique even when a later run tops up from a changed template set), the
  same in every table, so the copy's rows still refer to each other;
  timer ids (``<rule>:<ref>`` or a task UUID) and refs follow. Other single-column unique
  text columns get an md5 of the old value and the new case id.
- Every timestamp of a copy moves by a whole number of days (time of day kept), chosen
  per copy so that the copy starts within the last ``days`` days and its last event
  (update, end, audit line) is not in the future. Deadlines (``due_at``) move with it
  and may lie ahead, as they do for a real case that ended early.
- Pending timers are not copied (a worker would act on a copy); a copy's notices are
  acknowledged and its cards cleared when the template's were not, at the copy's end.

Afterwards the sequences are set past the largest ids (``setval``). The caller ANALYZEs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

#: Columns holding a workflow task's UUID (rewritten per copy).
TASK_COLUMNS = frozenset({"task_id", "multi_instance_of", "multi_instance_id"})
#: Business keys of the copies: WB-H000000 … (the templates are never copies).
KEY_PREFIX = "WB-H"
BATCH = 10_000


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    serial: bool  # default nextval(…)
    length: int | None


@dataclass
class CopyResult:
    """What :func:`multiply` did."""

    templates: int
    copies: int
    rows: dict[str, int]
    seconds: float


def _columns(conn: psycopg.Connection, table: str) -> list[Column]:
    rows = conn.execute(
        "SELECT column_name, data_type, coalesce(column_default, '') LIKE 'nextval(%%', "
        "character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [Column(str(r[0]), str(r[1]), bool(r[2]), r[3]) for r in rows]


def _referencing(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(table, column) of the single-column foreign keys to ``table``'s key."""
    rows = conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = %s::regclass "
        "AND cardinality(c.conkey) = 1 AND c.conrelid <> c.confrelid ORDER BY 1",
        (table,),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _self_reference(conn: psycopg.Connection, table: str) -> str | None:
    row = conn.execute(
        "SELECT a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND c.confrelid = c.conrelid",
        (table,),
    ).fetchone()
    return str(row[0]) if row else None


def _unique_columns(conn: psycopg.Connection, table: str, fk: str | None) -> set[str]:
    """Text columns to rewrite so that no unique index (other than the primary key) sees
    a copy's row as a duplicate: of every unique index none of whose columns is
    rewritten per copy anyway (the case's id, a task's id), its first text column."""
    rows = conn.execute(
        "SELECT i.indexrelid, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary "
        "ORDER BY i.indexrelid, k.n",
        (table,),
    ).fetchall()
    per_copy = {fk, *TASK_COLUMNS}
    if table in ("cases", "human_tasks", "timers"):
        per_copy |= {"id", "business_key"}
    indexes: dict[int, list[tuple[str, str]]] = {}
    for index, name, type_ in rows:
        indexes.setdefault(int(index), []).append((str(name), str(type_)))
    chosen: set[str] = set()
    for columns in indexes.values():
        if any(name in per_copy for name, _t in columns):
            continue
        text = [name for name, type_ in columns if type_.startswith(("character", "text"))]
        if text:
            chosen.add(text[0])
    return chosen


def _new_task_id(expr: str) -> str:
    return f"md5({expr} || '#' || m.new_id)::uuid::text"


def _expression(table: str, col: Column, fk: str | None, unique: set[str]) -> str:
    """The SELECT expression of one column of a copied row (``c``: the template's row,
    ``m``: its line of ``bulk_map``)."""
    name = f"c.{col.name}"
    if col.name == fk:
        return "m.new_id"
    if table == "cases" and col.name == "id":
        return "m.new_id"
    if table == "cases" and col.name == "business_key":
        return "m.key"
    if table == "human_tasks" and col.name == "id":
        return _new_task_id(name)
    if col.name in TASK_COLUMNS:
        return _new_task_id(name)
    if table == "timers" and col.name == "ref":
        # the case's id, or a task's UUID maybe followed by more ("<uuid>:2")
        return (
            "CASE WHEN c.ref = c.case_id::text THEN m.new_id::text "
            "WHEN c.ref ~ '^[0-9a-f-]{36}' THEN "
            + _new_task_id("left(c.ref, 36)")
            + " || substr(c.ref, 37) ELSE c.ref END"
        )
    if table == "timers" and col.name == "id":
        ref = _expression(table, Column("ref", "", False, None), fk, unique)
        return (
            "CASE WHEN c.rule IS NOT NULL AND c.id = c.rule || ':' || c.ref "
            f"AND ({ref}) <> c.ref THEN c.rule || ':' || ({ref}) "
            "WHEN c.id ~ '^[0-9a-f-]{36}$' THEN " + _new_task_id("c.id") + " "
            "ELSE left(c.id, 90) || '#' || m.new_id END"
        )
    if table == "cards" and col.name == "cleared_at":
        return "coalesce(c.cleared_at, m.ended_at) + m.shift"
    if table == "cards" and col.name == "cleared_reason":
        return "coalesce(c.cleared_reason, 'done')"
    if table == "notices" and col.name == "acked_at":
        return "coalesce(c.acked_at, m.ended_at) + m.shift"
    if col.type.startswith("timestamp"):
        return f"{name} + m.shift"
    if col.type == "date":
        return f"{name} + m.shift_days"
    if col.name in unique:
        width = min(col.length or 32, 32)
        return f"left(md5({name} || '#' || m.new_id), {width})"  # NULL stays NULL
    return name


def _insert(
    conn: psycopg.Connection,
    table: str,
    source: str,
    *,
    fk: str | None,
    where: str = "",
    id_map: str | None = None,
    self_ref: str | None = None,
) -> int:
    """Copy ``table``'s rows of the batch's templates; return the rows written."""
    unique = _unique_columns(conn, table, fk)
    names: list[str] = []
    exprs: list[str] = []
    for col in _columns(conn, table):
        if col.serial and id_map is None and table != "cases":
            continue  # the sequence gives the copy its id (a case's: bulk_map.new_id)
        names.append(col.name)
        if col.serial and id_map is not None:
            exprs.append("fm.new_row_id")
        elif col.name == self_ref:
            exprs.append(f"coalesce(fr.new_row_id, c.{col.name})")
        else:
            exprs.append(_expression(table, col, fk, unique))
    joins = source
    if id_map is not None:
        joins += f" JOIN {id_map} fm ON fm.old_row_id = c.id AND fm.new_id = m.new_id"
        if self_ref is not None:
            joins += (
                f" LEFT JOIN {id_map} fr ON fr.old_row_id = c.{self_ref} AND fr.new_id = m.new_id"
            )
    sql = f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(exprs)} FROM {joins} {where}"
    return conn.execute(sql).rowcount


def _scalar(conn: psycopg.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    row = conn.execute(sql, params or None).fetchone()
    return int(row[0]) if row else 0


def multiply(
    dsn: str,
    total: int,
    *,
    now: datetime,
    days: int,
    batch: int = BATCH,
    progress: bool = True,
) -> CopyResult:
    """Copy the ended cases of the database at ``dsn`` (plain ``postgresql://`` URL) until
    it holds ``total`` cases; each copy starts in ``[now - days, now]`` and has no event
    after ``now``. Does nothing when the database holds ``total`` cases or more."""
    started = time.perf_counter()
    rows: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        have = _scalar(conn, "SELECT count(*) FROM cases")
        need = total - have
        conn.execute(
            "CREATE TEMP TABLE bulk_template ON COMMIT PRESERVE ROWS AS "
            "SELECT (row_number() OVER (ORDER BY c.id) - 1)::int AS rank, c.id, c.started_at, "
            "c.ended_at, greatest(c.updated_at, c.ended_at, "
            "  (SELECT max(a.at) FROM audit_log a WHERE a.case_id = c.id)) AS latest "
            "FROM cases c WHERE c.ended_at IS NOT NULL AND c.business_key NOT LIKE %s",
            (KEY_PREFIX + "%",),
        )
        done = _scalar(
            conn, "SELECT count(*) FROM cases WHERE business_key LIKE %s", (KEY_PREFIX + "%",)
        )
        templates = _scalar(conn, "SELECT count(*) FROM bulk_template")
        conn.commit()
        if need <= 0:
            return CopyResult(templates, 0, rows, time.perf_counter() - started)
        if templates == 0:
            raise SystemExit("no ended case to copy: seed more template cases")
        case_tables = [t for t in _referencing(conn, "cases") if t[0] != "cases"]
        task_tables = _referencing(conn, "human_tasks")
        if progress:
            print(
                f"copying {templates} ended cases into {need} more "
                f"({', '.join(t for t, _c in case_tables + task_tables)}) …"
            )
        since = now - timedelta(days=days)
        for first in range(0, need, batch):
            last = min(first + batch, need)
            _copy_batch(
                conn,
                done + first,
                done + last,
                templates,
                since,
                now,
                case_tables,
                task_tables,
                rows,
            )
            conn.commit()
            if progress:
                elapsed = time.perf_counter() - started
                print(
                    f"\r  copied {last:>7}/{need} cases  {last / elapsed:8.0f} cases/s",
                    end="",
                    flush=True,
                )
        if progress:
            print()
        for table in ["cases", *(t for t, _c in case_tables + task_tables)]:
            if any(c.name == "id" and c.serial for c in _columns(conn, table)):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"greatest((SELECT max(id) FROM {table}), 1))"
                )
        conn.commit()
    return CopyResult(templates, need, rows, time.perf_counter() - started)


def _copy_batch(
    conn: psycopg.Connection,
    first: int,
    last: int,
    templates: int,
    since: datetime,
    now: datetime,
    case_tables: list[tuple[str, str]],
    task_tables: list[tuple[str, str]],
    rows: dict[str, int],
) -> None:
    """Copies ``first``..``last - 1`` (copy n of template ``n % templates``), one
    transaction (the caller commits)."""
    conn.execute("DROP TABLE IF EXISTS bulk_map")
    # shift: whole days in [since - started, now - latest], picked by a hash of n
    conn.execute(
        "CREATE TEMP TABLE bulk_map ON COMMIT DROP AS "
        "SELECT n, old_id, nextval(pg_get_serial_sequence('cases', 'id'))::int AS new_id, "
        "copy_no, key, ended_at, make_interval(days => shift_days) AS shift, shift_days FROM ("
        "  SELECT n, t.id AS old_id, n / %(templates)s + 1 AS copy_no, t.ended_at, "
        "    %(prefix)s || lpad(n::text, 6, '0') AS key, "
        "    CASE WHEN hi < lo THEN 0 ELSE lo + floor((hi - lo + 1) * "
        "      (('x' || substr(md5('shift' || n), 1, 8))::bit(32)::bigint / 4294967296.0))::int "
        "    END AS shift_days "
        "  FROM generate_series(%(first)s, %(last)s - 1) AS n "
        "  JOIN bulk_template t ON t.rank = n %% %(templates)s "
        "  CROSS JOIN LATERAL (SELECT "
        "    ceil(extract(epoch FROM %(since)s - t.started_at) / 86400)::int AS lo, "
        "    floor(extract(epoch FROM %(now)s - t.latest) / 86400)::int AS hi) AS r "
        "  ORDER BY n) AS s",
        {
            "prefix": KEY_PREFIX,
            "templates": templates,
            "first": first,
            "last": last,
            "since": since,
            "now": now,
        },
    )
    conn.execute("CREATE INDEX ON bulk_map (old_id)")
    conn.execute("ANALYZE bulk_map")
    source = "cases c JOIN bulk_map m ON m.old_id = c.id"
    rows["cases"] = rows.get("cases", 0) + _insert(conn, "cases", source, fk=None)
    for table, fk in case_tables:
        source = f"{table} c JOIN bulk_map m ON m.old_id = c.{fk}"
        where = "WHERE c.state <> 'pending'" if table == "timers" else ""
        self_ref = _self_reference(conn, table)
        id_map = None
        if self_ref is not None:  # ids first, so that a row can point at a copied one
            id_map = f"bulk_ids_{table}"
            conn.execute(f"DROP TABLE IF EXISTS {id_map}")
            conn.execute(
                f"CREATE TEMP TABLE {id_map} ON COMMIT DROP AS "
                f"SELECT c.id AS old_row_id, m.new_id, "
                f"nextval(pg_get_serial_sequence('{table}', 'id')) AS new_row_id "
                f"FROM {source}"
            )
        written = _insert(conn, table, source, fk=fk, where=where, id_map=id_map, self_ref=self_ref)
        rows[table] = rows.get(table, 0) + written
    for table, fk in task_tables:
        source = (
            f"{table} c JOIN human_tasks h ON h.id = c.{fk} JOIN bulk_map m ON m.old_id = h.case_id"
        )
        rows[table] = rows.get(table, 0) + _insert(conn, table, source, fk=None)
