"""CSV import against the running demand service: a per-row report (line, column, reason),
idempotent re-sends, whole-file refusals, 10,000 rows in one request, and `procure demand
import`. Trust codes 1200-1299, URNs 1200xx-1299xx."""

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import all_demand_lines, bearer
from tests.integration.test_demand_api import (
    as_manager,
    as_school,
    client,
    load_registry,
    registry_file,
    registry_rows,
)

pytestmark = pytest.mark.integration

END = (date.today() + timedelta(days=150)).isoformat()
HEADER = "school_urn,category,quantity,unit,current_unit_price,contract_end,term_months"


async def import_csv(
    http: httpx.AsyncClient, headers: dict[str, str], text: str, key: str | None = None
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await http.post(
        "/v1/demands/import",
        content=text.encode(),
        headers=headers | extra | {"Content-Type": "text/csv"},
    )


async def test_every_row_is_accepted_or_refused_on_its_own(system: RunningSystem) -> None:
    text = (
        f"{HEADER},current_supplier,notes,submission_id\n"
        f"120101,electricity,145000,kWh,0.2870,{END},24,Acme,,s-1\n"  # 2 accepted
        f"120101,gas,12.5,MWh,61.5000,{END},36,,,\n"  # 3 accepted: 12,500 kWh at 0.0615
        f"120101,electricity,0,kWh,0.2870,{END},24,,,\n"  # 4 quantity
        f"120101,rockets,5,kWh,0.1,{END},24,,,\n"  # 5 unknown category
        f"120101,water,5,kWh,0.1,{END},24,,,\n"  # 6 incompatible unit
        f"120301,electricity,5,kWh,0.1,{END},24,,,\n"  # 7 school of another trust
        f"120199,electricity,5,kWh,0.1,{END},24,,,\n"  # 8 unknown school
        f"120102,electricity,145000,kWh,0.2870,{END},24,Acme,,s-1\n"  # 9 s-1 again, other school
        f"120101,electricity,145000,kWh,0.2870,{END},24,Acme,,s-1\n"  # 10 s-1 again, same row
        f"120102,electricity,9,kWh,0.12345,2027-02-30,24,,,\n"  # 11 two bad cells
    )
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1201", ["120101", "120102"]))
        await load_registry(http, system, registry_rows("1203", ["120301"]))
        manager = as_manager(system, "1201")
        response = await import_csv(http, manager, text)
        assert response.status_code == 200, response.text
        report = response.json()
        lines = await all_demand_lines(http, manager)

    assert (report["rows"], report["accepted"], report["refused"]) == (10, 3, 7)
    accepted = {row["line"]: row for row in report["accepted_rows"]}
    assert sorted(accepted) == [2, 3, 10]
    assert accepted[10]["demand_id"] == accepted[2]["demand_id"]  # the same submission_id, once
    assert (accepted[2]["replayed"], accepted[10]["replayed"]) == (False, True)
    assert [(e["line"], e["column"]) for e in report["refused_rows"]] == [
        (4, "quantity"),
        (5, "category"),
        (6, "unit"),
        (7, "school_urn"),
        (8, "school_urn"),
        (9, "submission_id"),
        (11, "current_unit_price"),
        (11, "contract_end"),
    ]
    reasons = {(e["line"], e["column"]): e["reason"] for e in report["refused_rows"]}
    assert (
        reasons[(6, "unit")]
        == "water is measured in m3; send one of: m3, m³, l, litre, litres, kl, Ml"
    )
    assert reasons[(7, "school_urn")] == "school 120301 is not in trust 1201"
    assert reasons[(8, "school_urn")] == "URN 120199 is not in the registry"
    assert reasons[(9, "submission_id")].startswith(
        "this key was already used for different content"
    )

    assert len(lines) == 2
    gas = next(item for item in lines if item["category"] == "gas")
    assert (gas["quantity"], gas["unit"], gas["current_unit_price"]) == ("12500", "kWh", "0.0615")


async def test_a_school_imports_only_its_own_rows(system: RunningSystem) -> None:
    text = f"{HEADER}\n120401,gas,5,kWh,0.1,{END},24\n120402,gas,5,kWh,0.1,{END},24\n"
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1204", ["120401", "120402"]))
        report = (await import_csv(http, as_school(system, "120401"), text)).json()
    assert report["accepted"] == 1
    assert report["refused_rows"] == [
        {
            "line": 3,
            "column": "school_urn",
            "reason": "a token for school 120401 submits only for that school, not 120402",
        }
    ]


async def test_resending_a_file_with_its_key_replays_it(system: RunningSystem) -> None:
    text = f"{HEADER}\n" + "".join(f"120501,gas,{q},kWh,0.0650,{END},24\n" for q in (100, 200, 300))
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1205", ["120501"]))
        manager = as_manager(system, "1205")
        first = (await import_csv(http, manager, text, key="upload-7")).json()
        second = (await import_csv(http, manager, text, key="upload-7")).json()
        without_key = (await import_csv(http, manager, text)).json()
        lines = await all_demand_lines(http, manager)
    assert [r["replayed"] for r in first["accepted_rows"]] == [False, False, False]
    assert [r["replayed"] for r in second["accepted_rows"]] == [True, True, True]
    assert [r["demand_id"] for r in second["accepted_rows"]] == [
        r["demand_id"] for r in first["accepted_rows"]
    ]
    assert [r["replayed"] for r in without_key["accepted_rows"]] == [False, False, False]
    assert len(lines) == 6  # 3 from the keyed upload (sent twice), 3 from the keyless one


@pytest.mark.parametrize(
    ("content", "content_type", "field", "reason"),
    [
        (b"school_urn,qty\n", "text/csv", "header", "unknown columns: qty"),
        (HEADER.encode() + b",unit\n", "text/csv", "header", "repeated columns: unit"),
        (b"\xff\xfe" + HEADER.encode(), "text/csv", "body", "not UTF-8 text (byte 0)"),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_whole(
    system: RunningSystem, content: bytes, content_type: str, field: str, reason: str
) -> None:
    async with client(system) as http:
        response = await http.post(
            "/v1/demands/import",
            content=content,
            headers=as_manager(system, "1206") | {"Content-Type": content_type},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0] == {"field": field, "reason": reason}


async def test_import_needs_a_school_or_manager_token(system: RunningSystem) -> None:
    text = f"{HEADER}\n"
    async with client(system) as http:
        assert (await import_csv(http, {}, text)).status_code == 401
        for role, scope in ((Role.OPERATOR, None), (Role.SUPPLIER, "acme")):
            response = await import_csv(http, bearer(system.token(role, scope)), text)
            assert response.status_code == 403


async def test_a_multipart_upload_works_too(system: RunningSystem) -> None:
    text = f"{HEADER}\n120701,gas,5,kWh,0.1,{END},24\n"
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1207", ["120701"]))
        response = await http.post(
            "/v1/demands/import",
            files={"file": ("demand.csv", text.encode(), "text/csv")},
            headers=as_manager(system, "1207"),
        )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


async def test_ten_thousand_rows_in_one_request(system: RunningSystem) -> None:
    urns = [f"1208{i:02d}" for i in range(50)]
    rows = [
        f"{urns[i % 50]},{('electricity', 'gas')[i % 2]},{1000 + i},kWh,0.{2000 + i % 1000:04d},"
        f"{END},{12 + i % 24}"
        for i in range(10_000)
    ]
    rows[4999] = rows[4999].replace(",kWh,", ",litre,")  # line 5001: one bad row in the middle
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1208", urns))
        manager = as_manager(system, "1208")
        started = time.monotonic()
        response = await import_csv(http, manager, "\n".join([HEADER, *rows]) + "\n")
        seconds = time.monotonic() - started
        assert response.status_code == 200, response.text
        report = response.json()
        lines = await all_demand_lines(http, manager)
    print(f"\n10,000-row import: {seconds:.2f} s")
    assert seconds < 30
    assert (report["rows"], report["accepted"], report["refused"]) == (10_000, 9_999, 1)
    assert [(e["line"], e["column"]) for e in report["refused_rows"]] == [(5001, "unit")]
    assert len(lines) == 9_999
    assert len({item["demand_id"] for item in lines}) == 9_999


def test_procure_demand_import(system: RunningSystem, tmp_path: Path) -> None:
    httpx.post(
        f"{system.urls['demand']}/v1/registry",
        content=registry_file(registry_rows("1209", ["120901"])),
        headers=bearer(system.token(Role.OPERATOR)) | {"Content-Type": "text/csv"},
    ).raise_for_status()
    path = tmp_path / "demand.csv"
    path.write_text(
        f"{HEADER}\n120901,gas,5,kWh,0.1,{END},24\n120901,gas,5,kWh,0.1,{END},0\n",
        encoding="utf-8",
    )
    command = [
        sys.executable,
        "-m",
        "procure.cli",
        "demand",
        "import",
        str(path),
        "--url",
        system.urls["demand"],
        "--trust",
        "1209",
    ]
    env = os.environ | {"PROCURE_TOKEN_SECRET": system.token_secret}
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 2, first.stderr  # some rows refused
    assert first.stdout.splitlines() == [
        "2 rows: 1 accepted (0 already imported before), 1 refused",
        "line 3, term_months: Input should be greater than or equal to 1",
    ]
    # The same file again: its hash is the key, so nothing is added twice.
    assert (
        second.stdout.splitlines()[0] == "2 rows: 1 accepted (1 already imported before), 1 refused"
    )


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_tricky_file_sent_in_small_pieces(system: RunningSystem) -> None:
    """A spreadsheet's CSV (BOM, CRLF, a quoted line break in notes) arriving a few bytes at a
    time (chunked), with a refused row among good ones and a row spread over two lines."""
    text = (
        f"\ufeff{HEADER},notes,submission_id\r\n"
        f'121001,electricity,5,kWh,0.1,{END},24,"meter 1,\r\nmain site",t-1\r\n'  # 2-3
        f"121001,electricity,0,kWh,0.1,{END},24,,t-2\r\n"  # 4: quantity
        "\r\n"  # 5: blank
        f'121002,gas,5,MWh,61.5,{END},36,"café, m³\nand ""quotes""",\r\n'  # 6-7
        f"121002,gas,5,kWh,0.12345,{END},36\r\n"  # 8: a cell short
        f"121002,gas,7,kWh,0.1,{END},36,,t-1"  # 9: t-1 again, other content; no line end
    )
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1210", ["121001", "121002"]))
        manager = as_manager(system, "1210")
        response = await http.post(
            "/v1/demands/import",
            content=_pieces(text.encode(), 7),
            headers=manager | {"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        lines = await all_demand_lines(http, manager)
    assert (report["rows"], report["accepted"], report["refused"]) == (5, 2, 3)
    assert [(r["line"], r["replayed"]) for r in report["accepted_rows"]] == [(2, False), (6, False)]
    assert [(e["line"], e["column"]) for e in report["refused_rows"]] == [
        (4, "quantity"),
        (8, None),
        (9, "submission_id"),
    ]
    assert report["refused_rows"][1]["reason"] == "the row has 7 cells; the header has 9"
    notes = sorted((item["notes"], item["quantity"]) for item in lines)
    assert notes == [('café, m³\nand "quotes"', "5000"), ("meter 1,\r\nmain site", "5")]


async def test_a_row_not_utf8_refuses_the_file_and_names_the_byte(system: RunningSystem) -> None:
    good = f"121101,gas,5,kWh,0.1,{END},24\n"
    data = f"\ufeff{HEADER}\n{good * 3000}".encode() + b"121101,caf\xe9,5\n" + good.encode()
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1211", ["121101"]))
        manager = as_manager(system, "1211")
        response = await import_csv_bytes(http, manager, data)
        lines = await all_demand_lines(http, manager)
    assert response.status_code == 422
    # Counted from after the byte order mark, as before the import was streamed.
    offset = len(f"{HEADER}\n{good * 3000}121101,caf".encode())
    reason = f"not UTF-8 text (byte {offset})"
    assert response.json()["errors"] == [{"field": "body", "reason": reason}]
    assert lines == []


async def test_a_file_refused_after_some_chunks_were_stored_leaves_nothing(
    system: RunningSystem,
) -> None:
    """The rows are stored a few thousand at a time, all in one transaction: a line that cannot
    be read as CSV at row 5,001 refuses the whole file, and the rows before it are not kept."""
    good = f"121201,gas,5,kWh,0.1,{END},24\n"
    text = f"{HEADER}\n{good * 5000}121201,gas\r5,kWh,0.1,{END},24\n{good * 10}"
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1212", ["121201"]))
        manager = as_manager(system, "1212")
        response = await import_csv(http, manager, text, key="upload-cut")
        lines = await all_demand_lines(http, manager)
        again = await import_csv(http, manager, text.replace("gas\r5", "gas,5"), key="upload-cut")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "body"
    assert error["reason"].startswith("line 5002: not readable as CSV")
    assert lines == []
    # Nothing of the refused file was kept, its key included: the fixed file is all new.
    assert again.status_code == 200, again.text
    assert again.json()["accepted"] == 5011
    assert not any(r["replayed"] for r in again.json()["accepted_rows"])


async def test_a_submission_id_repeated_chunks_apart_is_stored_once(system: RunningSystem) -> None:
    """Rows are stored in chunks; a submission_id first used thousands of rows earlier in the
    same file is a replay of that row (same content) or refused (different content)."""
    row = f"121301,gas,{{q}},kWh,0.1,{END},24,{{sid}}\n"
    rows = [row.format(q=100 + n, sid=f"r-{n}") for n in range(4999)]
    rows.append(row.format(q=100, sid="r-0"))  # line 5001: r-0 again, same content
    rows.append(row.format(q=999, sid="r-1"))  # line 5002: r-1 again, other content
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1213", ["121301"]))
        manager = as_manager(system, "1213")
        response = await import_csv(http, manager, f"{HEADER},submission_id\n" + "".join(rows))
        assert response.status_code == 200, response.text
        report = response.json()
        lines = await all_demand_lines(http, manager)
    assert (report["rows"], report["accepted"], report["refused"]) == (5001, 5000, 1)
    accepted = {r["line"]: r for r in report["accepted_rows"]}
    assert accepted[5001]["demand_id"] == accepted[2]["demand_id"]
    assert accepted[5001]["replayed"] is True
    assert [(e["line"], e["column"]) for e in report["refused_rows"]] == [(5002, "submission_id")]
    assert len(lines) == 4999


async def import_csv_bytes(
    http: httpx.AsyncClient, headers: dict[str, str], data: bytes
) -> httpx.Response:
    return await http.post(
        "/v1/demands/import", content=data, headers=headers | {"Content-Type": "text/csv"}
    )
