"""The committed remote_pb2.py/.pyi must be exactly what remote.proto generates."""

from pathlib import Path

from grpc_tools import protoc

BACKFILL = Path(__file__).resolve().parents[2] / "backfill"


def test_generated_modules_match_the_proto(tmp_path):
    status = protoc.main(
        [
            "protoc",
            f"-I{BACKFILL}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            str(BACKFILL / "remote.proto"),
        ]
    )
    assert status == 0
    for name in ("remote_pb2.py", "remote_pb2.pyi"):
        assert (tmp_path / name).read_text() == (BACKFILL / name).read_text(), (
            f"backfill/{name} is stale; regenerate it (command in backfill/remote.proto)"
        )
