"""DATABASE_URL, as the README's settings table says, names the monolith's database also
under `make run-monolith` (python -m stages run monolith), and each stage's SQLite files go
to data/<stage>/ by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import psycopg

from stages.definitions import DATA, StageOptions
from stages.launcher import ROOT, free_port
from tests.support.postgres import fresh_databases


def test_database_url_is_the_monolith_database_under_the_launcher(tmp_path):
    port = free_port()
    with fresh_databases("readme") as urls:
        cli = subprocess.Popen(
            [sys.executable, "-m", "stages", "run", "monolith", "--port", str(port)],
            cwd=tmp_path,  # a SQLite file would be made here if DATABASE_URL were ignored
            env=os.environ | {"DATABASE_URL": urls["readme"], "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert cli.stdout is not None
            output = []
            for line in cli.stdout:  # migrated, started and seeded: "monolith is ready at ..."
                output.append(line)
                if "is ready at" in line:
                    break
            assert "is ready at" in output[-1], "".join(output)
            answer = httpx.get(f"http://127.0.0.1:{port}/api/products").json()
            assert answer["total"] == 60
            with psycopg.connect(urls["readme"]) as db:
                (count,) = db.execute("SELECT count(*) FROM catalog_products").fetchone()
            assert count == 60  # seeded into PostgreSQL
            # data/monolith/traces/ holds the spans (TRACES_DIR), never a database.
            assert not list(tmp_path.glob("data/**/*.sqlite*"))
        finally:
            cli.send_signal(signal.SIGTERM)
            rest, _ = cli.communicate(timeout=30)  # reads the pipe to its end and closes it
            assert cli.returncode == 0, rest


def test_each_stage_has_its_own_data_folder():
    for stage in ("monolith", "microservices", "functions"):
        options = StageOptions().in_stage_folder(stage)
        assert options.data_dir == DATA / stage
        assert f"/{DATA}/{stage}/" in options.database("orders")
    given = StageOptions(data_dir=ROOT / "elsewhere").in_stage_folder("monolith")
    assert given.data_dir == ROOT / "elsewhere"
