"""CLI error paths that no data file can trigger: a folder that cannot be written, a missing path."""
from evalkit import template
from evalkit.cli import main


def test_unwritable_output_exits_2_with_advice(monkeypatch, capsys, tmp_path):
    def refuse(path, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(template, "write_template", refuse)
    code = main(["template", str(tmp_path / "x.xlsx")])
    err = capsys.readouterr().err
    assert code == 2 and "permission denied" in err and "What to do" in err and "Traceback" not in err


def test_missing_folder_exits_2(capsys, tmp_path):
    code = main(["validate", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "nope" in err and "Traceback" not in err
