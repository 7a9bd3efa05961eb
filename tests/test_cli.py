"""The command line behaves like the tools people know: --version, results on stdout and
diagnostics on stderr, -v/-q on every command, listed choices, and a cache that notices an
upgrade of the toolkit."""

from __future__ import annotations

import logging

import pytest
import typer
from typer.testing import CliRunner

import spinedlr
from spinedlr.cli import app
from spinedlr.cli_support import friendly, stdout
from spinedlr.config import load_study
from spinedlr.evaluate.synthetic import write_synthetic_study
from spinedlr.pipeline import STAGES, stage_key

FAST = {"boot_n": 20, "pauc_boot_n": 20, "calibration_b": 10, "folds": 3}


def _leaves(cmd, path: tuple[str, ...] = ()):
    if hasattr(cmd, "commands"):  # a group (typer may use its own click classes)
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


def test_version_goes_to_stdout():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.stdout == f"spinedlr {spinedlr.__version__}\n"
    assert res.stderr == ""


def test_every_command_takes_verbose_and_quiet():
    leaves = dict(_leaves(typer.main.get_command(app)))
    assert {("run",), ("evaluate",), ("segment", "predict"), ("extract", "radiomics"), ("select", "apply")} <= set(leaves)
    for path, cmd in leaves.items():
        opts = {o for p in cmd.params for o in p.opts}
        assert {"-v", "--verbose", "-q", "--quiet"} <= opts, path
        assert all(p.help for p in cmd.params if p.param_type_name == "option"), path


def test_help_shows_plain_commands_and_choices():
    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "--help"])
    assert res.exit_code == 0 and "COMMAND" not in res.stdout
    res = runner.invoke(app, ["segment", "train", "--help"])
    assert "cpu" in res.stdout and "paper" in res.stdout
    res = runner.invoke(app, ["segment", "train", "study.yaml", "--preset", "gpu"])
    assert res.exit_code == 2 and "gpu" in res.stderr and res.stdout == ""
    res = runner.invoke(app, ["segment", "predict", "--help"])
    assert "Torch device" in " ".join(res.stdout.split())
    res = runner.invoke(app, ["run", "--help"])
    for stage in STAGES:
        assert stage.name in res.stdout


def _probe_app() -> typer.Typer:
    """A command that logs at three levels and prints one result, to see where each goes."""
    probe = typer.Typer()

    @probe.command()
    @friendly
    def work(n: int = typer.Argument(3)) -> None:
        log = logging.getLogger("spinedlr.probe")
        log.debug("debug record")
        log.info("info record")
        log.warning("warning record")
        stdout.print(f"result {n}")

    return probe


@pytest.mark.parametrize(("flags", "shown", "hidden"), [
    ([], ["info record", "warning record"], ["debug record"]),
    (["-v"], ["debug record", "info record", "warning record"], []),
    (["-q"], ["warning record"], ["debug record", "info record"]),
])
def test_log_records_reach_stderr_at_the_flagged_level(flags, shown, hidden):
    res = CliRunner().invoke(_probe_app(), [*flags, "7"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "result 7\n"
    for text in shown:
        assert text in res.stderr
    for text in hidden:
        assert text not in res.stderr


def test_verbose_and_quiet_together_are_refused():
    res = CliRunner().invoke(_probe_app(), ["-v", "-q"])
    assert res.exit_code == 2 and "choose one" in res.stderr


def test_results_on_stdout_progress_and_errors_on_stderr(tmp_path):
    path = write_synthetic_study(tmp_path / "s", evaluate=FAST)
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(path), "--only", "evaluate"])
    assert res.exit_code == 0, res.output
    assert "evaluate" in res.stdout and "ran" in res.stdout  # the pipeline table
    assert "segment" not in res.stdout  # --only: other stages not even listed
    assert "evaluate" in res.stderr  # the stage's progress rule
    res = runner.invoke(app, ["run", str(path), "--only", "evaluate", "-q"])
    assert res.exit_code == 0 and "skipped" in res.stdout and res.stderr == ""
    res = runner.invoke(app, ["export", str(tmp_path / "missing" / "study.yaml")])
    assert res.exit_code == 1 and res.stdout == "" and "error:" in res.stderr


def test_stage_key_changes_with_the_toolkit_version(tmp_path, monkeypatch):
    study = load_study(write_synthetic_study(tmp_path, evaluate=FAST))
    stage = next(s for s in STAGES if s.name == "evaluate")
    before = stage_key(study, stage)
    assert stage_key(study, stage) == before
    monkeypatch.setattr(spinedlr, "__version__", spinedlr.__version__ + ".post1")
    assert stage_key(study, stage) != before
