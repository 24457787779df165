"""Statement PDFs carry names and addresses: each deployment (namespace) has its own folder, which
only the service's user may enter (0700), and each PDF only it may read (0600)."""

import stat
from pathlib import Path

from services.ar_followup.settings import ArSettings
from services.ar_followup.statements import _write, statements_folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_namespace_has_its_own_statements_folder(tmp_path):
    one = statements_folder(ArSettings(ar_statements_dir=tmp_path, topic_prefix="t1a2b_"))
    other = statements_folder(ArSettings(ar_statements_dir=tmp_path, topic_prefix="t9z8y_"))
    production = statements_folder(ArSettings(ar_statements_dir=tmp_path, topic_prefix=""))
    assert (one, other, production) == (tmp_path / "t1a2b", tmp_path / "t9z8y", tmp_path / "default")


def test_statement_pdfs_are_private_to_the_service(tmp_path):
    root = tmp_path / "statements"
    root.mkdir(mode=0o755)
    document = statements_folder(ArSettings(ar_statements_dir=root, topic_prefix="t1_")) / "s.pdf"
    _write(document, b"%PDF-1.4 Ada Quill, 1 Main St")
    assert document.read_bytes().startswith(b"%PDF")
    assert (mode(root), mode(document.parent), mode(document)) == (0o700, 0o700, 0o600)
    assert not list(document.parent.glob(".*.tmp"))
